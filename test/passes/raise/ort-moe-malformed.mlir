// RUN: moe-opt %s -split-input-file -moec-raise-ort-moe -verify-diagnostics | FileCheck %s
// A com.microsoft.MoE node whose expert weights do not fit together is an error naming the
// node (onnxruntime refuses it when run), not a remark: there is no layer to fall back on.

// CHECK-NOT: moe.layer

// fc1 that fits neither layout.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[9.0, 10.0], [11.0, 12.0], [13.0, 14.0], [15.0, 16.0]]]> : tensor<2x4x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-error @+1 {{node 'moe' (MoE): the expert weights do not fit together: fc1_experts_weights is [2, 4, 2] but must be [2, 2, 2]}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x4x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// fc2 for fewer experts than fc1.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]]> : tensor<2x3x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]> : tensor<1x2x3xf32>
  %none = onnx.none
  // expected-error @+1 {{node 'moe' (MoE): the expert weights do not fit together: fc2_experts_weights is [1, 2, 3] but must be [2, 2, 3]}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x3x2xf32>, none, tensor<1x2x3xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// fc2 whose size is no multiple of the hidden size.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]]> : tensor<2x3x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0, 3.0]], [[4.0, 5.0, 6.0]]]> : tensor<2x1x3xf32>
  %none = onnx.none
  // expected-error @+1 {{node 'moe' (MoE): the expert weights do not fit together: fc2_experts_weights [2, 1, 3] does not match hidden size 2}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x3x2xf32>, none, tensor<2x1x3xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A bias for another inner size.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]]> : tensor<2x3x2xf32>
  %b1 = onnx.constant "b1" dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]> : tensor<2x2x3xf32>
  // expected-error @+1 {{node 'moe' (MoE): the expert weights do not fit together: fc1_experts_bias is [2, 4] but must be [2, 3]}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %b1, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x3x2xf32>, tensor<2x4xf32>, tensor<2x2x3xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
