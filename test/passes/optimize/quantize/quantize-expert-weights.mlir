// RUN: moe-opt %s -moec-quantize-expert-weights=group-size=2 -split-input-file -verify-diagnostics | FileCheck %s
// RUN: moe-opt %s -moec-quantize-expert-weights="bits=4 group-size=2" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=INT4
// RUN: moe-opt %s -moec-quantize-expert-weights="bits=4 group-size=2 scheme=asymmetric" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=UINT4
// The constant expert weights of a moe.layer become integers and group-wise scales
// (max |w| / qmax, values rounded half to even) behind a moe.dequantize; the router stays f32.
// Asymmetric: unsigned integers and zero points, the range of each group holding 0 (an
// all-zero group has scale and zero point 0); 0.635 / 0.0847 = 7.5 rounds to 8.

// CHECK-LABEL: func.func @constant_weights
// CHECK-DAG: %[[ROUTER:.*]] = arith.constant dense<{{.*}}> : tensor<1x4xf32>
// CHECK-DAG: %[[UPQ:.*]] = arith.constant dense<{{\[\[\[}}127, -25], [64, 127], [-127, 0], [50, 0]]]> : tensor<1x4x2xi8>
// CHECK-DAG: %[[UPS:.*]] = arith.constant dense<{{\[\[\[}}0.00999999977, 2.000000e-02], [2.000000e-02, 0.000000e+00]]]> : tensor<1x2x2xf32>
// CHECK-DAG: %[[UP:.*]] = moe.dequantize %[[UPQ]] scales(%[[UPS]] : tensor<1x2x2xf32>) : tensor<1x4x2xi8> -> tensor<1x4x2xf32>
// CHECK-DAG: %[[DOWNQ:.*]] = arith.constant dense<{{\[\[\[}}127, -127, 127, -127]]]> : tensor<1x1x4xi8>
// CHECK-DAG: %[[DOWNS:.*]] = arith.constant dense<{{.*}}> : tensor<1x1x4xf32>
// CHECK-DAG: %[[DOWN:.*]] = moe.dequantize %[[DOWNQ]] scales(%[[DOWNS]] : tensor<1x1x4xf32>) : tensor<1x1x4xi8> -> tensor<1x1x4xf32>
// CHECK: moe.layer %{{.*}}, %[[UP]], %[[DOWN]] router(%[[ROUTER]] : tensor<1x4xf32>)
// INT4-LABEL: func.func @constant_weights
// INT4-DAG: arith.constant dense<{{\[\[\[}}7, -1], [4, 7], [-7, 0], [3, 0]]]> : tensor<1x4x2xi4>
// INT4-DAG: arith.constant dense<{{\[\[\[}}0.181428567, 0.362857133], [0.362857133, 0.000000e+00]]]> : tensor<1x2x2xf32>
// INT4: moe.dequantize {{.*}} : tensor<1x4x2xi4> -> tensor<1x4x2xf32>
// INT4: moe.dequantize {{.*}} : tensor<1x1x4xi4> -> tensor<1x1x4xf32>
// UINT4-LABEL: func.func @constant_weights
// UINT4-DAG: %[[Q:.*]] = arith.constant dense<{{\[\[\[}}15, 0], [8, 15], [0, 0], [15, 0]]]> : tensor<1x4x2xui4>
// UINT4-DAG: %[[S:.*]] = arith.constant dense<{{\[\[\[}}0.0846666619, 0.20266667], [2.360000e-01, 0.000000e+00]]]> : tensor<1x2x2xf32>
// UINT4-DAG: %[[Z:.*]] = arith.constant dense<{{\[\[\[}}0, 2], [11, 0]]]> : tensor<1x2x2xui4>
// UINT4-DAG: moe.dequantize %[[Q]] scales(%[[S]] : tensor<1x2x2xf32>) zero_points(%[[Z]] : tensor<1x2x2xui4>) : tensor<1x4x2xui4> -> tensor<1x4x2xf32>
// UINT4-DAG: arith.constant dense<{{\[\[\[}}15, 0, 15, 0]]]> : tensor<1x1x4xui4>
// UINT4-DAG: arith.constant dense<{{\[\[\[}}0, 15, 0, 15]]]> : tensor<1x1x4xui4>
func.func @constant_weights(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %router = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %up = arith.constant dense<[[[1.27, -0.5], [0.635, 2.54], [-2.54, 0.0], [1.0, 0.0]]]> : tensor<1x4x2xf32>
  %down = arith.constant dense<[[[1.0, -2.0, 3.0, -4.0]]]> : tensor<1x1x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<1x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<1x4x2xf32>, tensor<1x1x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// Weights that are not constants stay as they are.

// CHECK-LABEL: func.func @argument_weights
// CHECK-NOT: moe.dequantize
func.func @argument_weights(%x: tensor<?x4xf32>, %router: tensor<1x4xf32>, %up: tensor<1x4x2xf32>,
                            %down: tensor<1x1x4xf32>) -> tensor<?x4xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<1x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<1x4x2xf32>, tensor<1x1x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// A K that the group size does not divide keeps that weight f32, with a warning; a K
// below the group size is one group.

// CHECK-LABEL: func.func @ragged_groups
// CHECK: %[[DOWN:.*]] = moe.dequantize %{{.*}} : tensor<1x1x3xi8> -> tensor<1x1x3xf32>
// CHECK: moe.layer %{{.*}}, %{{.*}}, %[[DOWN]]
func.func @ragged_groups(%x: tensor<?x3xf32>, %router: tensor<1x3xf32>) -> tensor<?x3xf32> {
  %up = arith.constant dense<1.0> : tensor<1x3x1xf32>
  %down = arith.constant dense<2.0> : tensor<1x1x3xf32>
  // expected-warning @+1 {{expert weights 'expert_weights' stay f32: their 3 rows are not a whole number of groups of 2}}
  %y = moe.layer %x, %up, %down router(%router : tensor<1x3xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = relu>
         : (tensor<?x3xf32>, tensor<1x3x1xf32>, tensor<1x1x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
