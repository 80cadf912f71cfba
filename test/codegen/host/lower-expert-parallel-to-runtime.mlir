// RUN: moe-opt %s -moec-lower-moe-kernels-to-runtime | FileCheck %s
// moe.expert_parallel is one call of the runtime's MPI part, its placement passed as two
// constant i32 arrays (rank, then slot, of every expert), each projection as its weights,
// their format (MOEC_RT_WEIGHTS_F32: 0), no scales (null, 0 groups, 0 blocks), no zero
// points and its bias.

// CHECK-LABEL: func.func @sharded
// CHECK-DAG: arith.constant dense<[0, 0, 1, 1]> : tensor<4xi32>
// CHECK-DAG: arith.constant dense<[0, 1, 0, 1]> : tensor<4xi32>
// CHECK-DAG: %[[F32:.*]] = arith.constant 0 : i32
// CHECK: call @moec_rt_moe_expert_parallel_f32({{([^,]*, ){12}[^,]*}}, %[[F32]], {{([^,]*, ){5}[^,]*}}, %[[F32]],
// CHECK-NOT: moe.expert_parallel
// CHECK: func.func private @moec_rt_moe_expert_parallel_f32(i64, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i64, i64, i64, !llvm.ptr, i32, !llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, i64, i64, !llvm.ptr, !llvm.ptr, i32, i32, f32, f32, !llvm.ptr)
func.func @sharded(%x: tensor<?x16xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>,
                   %up: tensor<2x16x64xf32>, %down: tensor<2x32x16xf32>) -> tensor<?x16xf32> {
  %y = moe.expert_parallel %x, %ids, %w, %up, %down ranks 2 experts [0, 0, 1, 1] slots [0, 1, 0, 1]
         expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<2x16x64xf32>, tensor<2x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
