// RUN: moe-opt %s -moec-quantize-expert-weights="fp8=true group-size=2" -split-input-file -verify-diagnostics | FileCheck %s
// fp8: the constant expert weights become e4m3 values with one scale per block of 2 x 2
// rows and columns (absmax / 448), behind a moe.dequantize. The first block's absmax is
// 448 (scale 1), so its values are the encoder's own: 17 rounds to even (16), 19 to 20,
// 1.5 subnormal steps (3 * 2^-10) to 2 (2^-8); the last block is all zeros (scale 0).

// CHECK-LABEL: func.func @blocks
// CHECK-DAG: %[[UPQ:.*]] = arith.constant dense<{{\[\[\[}}4.480000e+02, 1.600000e+01, {{.*}}], [2.000000e+01, 3.906250e-03, {{.*}}]{{.*}} : tensor<1x4x4xf8E4M3FN>
// CHECK-DAG: %[[UPS:.*]] = arith.constant dense<{{\[\[\[}}1.000000e+00, {{.*}}], [{{.*}}, 0.000000e+00]]]> : tensor<1x2x2xf32>
// CHECK-DAG: %[[UP:.*]] = moe.dequantize %[[UPQ]] scales(%[[UPS]] : tensor<1x2x2xf32>) : tensor<1x4x4xf8E4M3FN> -> tensor<1x4x4xf32>
// CHECK-DAG: %[[DOWN:.*]] = moe.dequantize %{{.*}} scales(%{{.*}} : tensor<1x1x2xf32>) : tensor<1x2x4xf8E4M3FN> -> tensor<1x2x4xf32>
// CHECK: moe.layer %{{.*}}, %[[UP]], %[[DOWN]]
func.func @blocks(%x: tensor<?x4xf32>, %router: tensor<1x4xf32>) -> tensor<?x4xf32> {
  %up = arith.constant dense<[[[448.0, 17.0, 1.0, 2.0], [19.0, 0.0029296875, 3.0, -4.0],
                               [0.5, -0.25, 0.0, 0.0], [0.125, 0.3, 0.0, 0.0]]]> : tensor<1x4x4xf32>
  %down = arith.constant dense<[[[0.1, 0.2, -0.3, 0.4], [0.5, -0.6, 0.7, 0.8]]]> : tensor<1x2x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<1x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<1x4x4xf32>, tensor<1x2x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A dimension that blocks do not divide (the 3 columns of up, the 3 rows of down) keeps
// the weight f32, with a warning.
// CHECK-LABEL: func.func @ragged_blocks
// CHECK-NOT: moe.dequantize
func.func @ragged_blocks(%x: tensor<?x4xf32>, %router: tensor<1x4xf32>) -> tensor<?x4xf32> {
  %up = arith.constant dense<1.0> : tensor<1x4x3xf32>
  %down = arith.constant dense<2.0> : tensor<1x3x4xf32>
  // expected-warning @+2 {{expert weights 'expert_weights' stay f32: their 4 x 3 are not a whole number of blocks of 2 x 2}}
  // expected-warning @+1 {{expert weights 'expert_weights' stay f32: their 3 x 4 are not a whole number of blocks of 2 x 2}}
  %y = moe.layer %x, %up, %down router(%router : tensor<1x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = relu>
         : (tensor<?x4xf32>, tensor<1x4x3xf32>, tensor<1x3x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
