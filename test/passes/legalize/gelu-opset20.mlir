// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// Gelu, an op of the default domain from opset 20: 0.5 x (1 + erf(x / sqrt 2)), or with
// approximate = "tanh", 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))).

// CHECK-LABEL: func.func @gelu
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: linalg.generic
// CHECK: math.tanh
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  func.func @gelu(%x: tensor<2x?xf32>) -> (tensor<2x?xf32>, tensor<2x?xf32>) {
    %0 = onnx.node "Gelu"(%x) : (tensor<2x?xf32>) -> tensor<2x?xf32>
    %1 = onnx.node "Gelu"(%x) {node_attrs = {approximate = "tanh"}} : (tensor<2x?xf32>) -> tensor<2x?xf32>
    return %0, %1 : tensor<2x?xf32>, tensor<2x?xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  func.func @unknown_approximation(%x: tensor<4xf32>) -> tensor<4xf32> {
    // expected-error @+1 {{node 'g' (Gelu): approximate 'sigmoid' is not one of none, tanh}}
    %0 = onnx.node "Gelu"(%x) {name = "g", node_attrs = {approximate = "sigmoid"}} : (tensor<4xf32>) -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}
