// RUN: moe-opt %s -moec-lower-moe-kernels-to-runtime | FileCheck %s
// Quantized stacks of moe.expert_parallel go to the runtime as its grouped matmuls' kernels
// read them: the unsigned 4-bit up codes and zero points packed two a byte along the rows
// (groups), format MOEC_RT_WEIGHTS_INT4 (2) with 1 group; the fp8 down codes as bytes,
// format MOEC_RT_WEIGHTS_FP8 (3) with 1 group of rows and 2 blocks of columns.

// CHECK-LABEL: func.func @sharded
// CHECK-DAG: arith.constant dense<{{.*}}> : tensor<2x2x4xi8>
// CHECK-DAG: arith.constant dense<{{.*}}> : tensor<2x1x4xi8>
// CHECK-DAG: %[[INT4:.*]] = arith.constant 2 : i32
// CHECK-DAG: %[[FP8:.*]] = arith.constant 3 : i32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK: call @moec_rt_moe_expert_parallel_f32({{([^,]*, ){12}[^,]*}}, %[[INT4]], %{{[^,]*}}, %[[ONE]], %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %{{[^,]*}}, %[[FP8]], %{{[^,]*}}, %[[ONE]], %[[TWO]],
// CHECK-NOT: moe.expert_parallel
func.func @sharded(%x: tensor<?x4xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>) -> tensor<?x4xf32> {
  %up_codes = arith.constant dense<[[[1, 2, 3, 4], [5, 6, 7, 7], [1, 1, 1, 1], [2, 2, 2, 2]],
                                    [[3, 3, 3, 3], [4, 4, 4, 4], [5, 5, 5, 5], [6, 6, 6, 6]]]> : tensor<2x4x4xi4>
  %up = tensor.bitcast %up_codes : tensor<2x4x4xi4> to tensor<2x4x4xui4>
  %up_zero_codes = arith.constant dense<7> : tensor<2x1x4xi4>
  %up_zero = tensor.bitcast %up_zero_codes : tensor<2x1x4xi4> to tensor<2x1x4xui4>
  %up_scales = arith.constant dense<0.5> : tensor<2x1x4xf32>
  %down = arith.constant dense<1.0> : tensor<2x2x4xf8E4M3FN>
  %down_scales = arith.constant dense<0.25> : tensor<2x1x2xf32>
  %y = moe.expert_parallel %x, %ids, %w, %up, %down up_scales(%up_scales : tensor<2x1x4xf32>)
         up_zero_points(%up_zero : tensor<2x1x4xui4>) down_scales(%down_scales : tensor<2x1x2xf32>)
         ranks 2 experts [0, 0, 1, 1] slots [0, 1, 0, 1] expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<2x4x4xui4>, tensor<2x2x4xf8E4M3FN>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
