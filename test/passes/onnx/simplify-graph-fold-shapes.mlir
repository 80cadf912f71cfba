// RUN: moe-opt %s -moec-simplify-graph -split-input-file | FileCheck %s
// Integer nodes whose every element the type rules know become constants: TorchScript's
// `chunk(2, dim=-1)` computes the half of a static last dim through Shape, Gather, Add and
// Div; dims known only at run time stay computed.

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @half_of_static_dim
  func.func @half_of_static_dim(%h: tensor<?x32xf32>) -> tensor<1xi64> {
    // CHECK-NEXT: %[[HALF:.*]] = onnx.constant "half" dense<16> : tensor<1xi64>
    // CHECK-NEXT: return %[[HALF]]
    %s = onnx.node "Shape"(%h) : (tensor<?x32xf32>) -> tensor<2xi64>
    %last = onnx.constant "last" dense<[-1]> : tensor<1xi64>
    %d = onnx.node "Gather"(%s, %last) {node_attrs = {axis = 0 : i64}} : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
    %one = onnx.constant "one" dense<[1]> : tensor<1xi64>
    %p = onnx.node "Add"(%d, %one) : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
    %two = onnx.constant "two" dense<[2]> : tensor<1xi64>
    %half = onnx.node "Div"(%p, %two) {name = "half"} : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
    return %half : tensor<1xi64>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @dynamic_dim_stays
  func.func @dynamic_dim_stays(%h: tensor<?x32xf32>) -> tensor<1xi64> {
    // CHECK: onnx.node "Shape"
    // CHECK: onnx.node "Gather"
    %s = onnx.node "Shape"(%h) : (tensor<?x32xf32>) -> tensor<2xi64>
    %first = onnx.constant "first" dense<[0]> : tensor<1xi64>
    %d = onnx.node "Gather"(%s, %first) {node_attrs = {axis = 0 : i64}} : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
    return %d : tensor<1xi64>
  }
}

// -----

// TorchScript's `repeat_interleave(x, k, dim=0)` tiles by a OneHot of known indices.
module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @one_hot_repeats
  func.func @one_hot_repeats() -> tensor<1x3xi64> {
    // CHECK-NEXT: onnx.constant "repeats" dense<{{\[\[}}1, 2, 1]]> : tensor<1x3xi64>
    %index = onnx.constant "index" dense<[1]> : tensor<1xi64>
    %depth = onnx.constant "depth" dense<3> : tensor<i64>
    %values = onnx.constant "values" dense<[1, 2]> : tensor<2xi64>
    %repeats = onnx.node "OneHot"(%index, %depth, %values) {name = "repeats", node_attrs = {axis = -1 : i64}} : (tensor<1xi64>, tensor<i64>, tensor<2xi64>) -> tensor<1x3xi64>
    return %repeats : tensor<1x3xi64>
  }
}
