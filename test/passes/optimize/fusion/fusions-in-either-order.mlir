// RUN: moe-opt %s -moec-decompose-moe-layers -moec-fuse-gather-into-grouped-matmul -moec-fuse-activation-into-grouped-matmul | FileCheck %s
// RUN: moe-opt %s -moec-decompose-moe-layers -moec-fuse-activation-into-grouped-matmul -moec-fuse-gather-into-grouped-matmul | FileCheck %s
// RUN: moe-opt %s -moec-decompose-moe-layers -moec-fuse-combine-into-grouped-matmul -moec-shortcut-permute-for-few-tokens -moec-fuse-activation-into-grouped-matmul -moec-fuse-gather-into-grouped-matmul | FileCheck %s --check-prefixes=CHECK,HOST
// Both fusions after the decomposition give the fused up projection, whatever their
// order: each matches the plain ops, not the other's output; so do the host's two, run
// before them.

// CHECK-LABEL: func.func @layer
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, %{{.*}}, %[[UP:.*]]: tensor<4x16x64xf32>,
// CHECK-NOT: moe.gather_rows
// CHECK-NOT: moe.expert_activation
// CHECK: %[[H:.*]] = moe.grouped_matmul %[[X]], %[[UP]] offsets %{{.*}} gather %{{.*}}, rows_per_token 2 expert <activation = silu, gated = true> : ({{.*}}) -> tensor<?x32xf32>
// CHECK: moe.grouped_matmul %[[H]]
// HOST-SAME: combine(
// CHECK-NOT: moe.gather_rows
// CHECK-NOT: moe.expert_activation
func.func @layer(%x: tensor<?x16xf32>, %router: tensor<4x16xf32>, %up: tensor<4x16x64xf32>,
                 %down: tensor<4x32x16xf32>) -> tensor<?x16xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xf32>)
         routing <scoring = softmax, k = 2, renormalize = true>
         expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<4x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
