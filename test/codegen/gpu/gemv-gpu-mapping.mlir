// RUN: moe-opt %s -moec-lower-grouped-matmul-to-gemv -gpu-map-parallel-loops=mapping-policy=innermost-first \
// RUN:   -convert-parallel-loops-to-gpu -lower-affine -canonicalize | FileCheck %s
// The split-K nest maps as the GPU pipeline maps it (innermost first): column blocks on
// grid x, K splits on y, experts on z, and a thread per 16-byte vector on x, so that the
// 32 threads of a warp read 32 consecutive vectors (512 bytes) of a weight row. Both
// launches are named for the grouped matmul (element type, K, N, gather, bias, epilogue)
// and its K splits, the kernel names that gpu-kernel-outlining gives them.
// CHECK: gpu.launch blocks(%{{.*}}, %[[SPLIT:.*]], %[[E:.*]]) in (%{{.*}} = %c1, %{{.*}} = %c8, %{{.*}} = %c4) threads(%[[THREAD:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c32, %{{.*}} = %c1, %{{.*}} = %c1) function(@grouped_matmul_splitk_bf16_k256_n64_gather2_bias_silu_gated_split8)
// CHECK:   %[[COLUMN:.*]] = arith.muli %[[THREAD]], %c8 : index
// CHECK:   vector.load %{{.*}}[%[[E]], %{{.*}}, %[[COLUMN]]] {alignment = 16 : i64} : memref<4x256x64xbf16>, vector<8xbf16>
// The epilogue: a block per (slot, 256 result columns).
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, %{{.*}} = %{{.*}}, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c256, %{{.*}} = %c1, %{{.*}} = %c1) function(@grouped_matmul_splitk_sum_bf16_k256_n64_gather2_bias_silu_gated_split8)
// CHECK-NOT: scf.parallel
func.func @decode(%x: tensor<1x256xbf16>, %ids: tensor<1x2xi32>, %w: tensor<4x256x64xbf16>,
                  %b: tensor<4x64xbf16>) -> tensor<?x32xbf16> {
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<1x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %y = moe.grouped_matmul %x, %w offsets %offsets gather %sorted, rows_per_token 2
         bias(%b : tensor<4x64xbf16>) expert <activation = silu, gated = true>
         : (tensor<1x256xbf16>, tensor<4x256x64xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}
