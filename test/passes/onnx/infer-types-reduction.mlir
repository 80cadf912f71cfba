// RUN: moe-opt %s -moec-infer-types -split-input-file | FileCheck %s
// Reductions read their axes from an attribute before opset 18 (13 for ReduceSum) and from
// an input after; keepdims and noop_with_empty_axes as ONNX defines them.

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @attribute_axes
  func.func @attribute_axes(%x: tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    // CHECK: "ReduceMean"{{.*}} -> tensor<2x?x1xf32>
    %m = onnx.node "ReduceMean"(%x) {node_attrs = {axes = array<i64: -1>}} : (tensor<2x?x8xf32>) -> !onnx.any
    // CHECK: "ReduceMax"{{.*}} -> tensor<f32>
    %a = onnx.node "ReduceMax"(%x) {node_attrs = {keepdims = 0 : i64}} : (tensor<2x?x8xf32>) -> !onnx.any
    %axes = onnx.constant "axes" dense<[0, 2]> : tensor<2xi64>
    // CHECK: "ReduceSum"{{.*}} -> tensor<?xf32>
    %s = onnx.node "ReduceSum"(%x, %axes) {node_attrs = {keepdims = 0 : i64}} : (tensor<2x?x8xf32>, tensor<2xi64>) -> !onnx.any
    // CHECK: "ArgMax"{{.*}} -> tensor<2x?x1xi64>
    %i = onnx.node "ArgMax"(%x) {node_attrs = {axis = 2 : i64}} : (tensor<2x?x8xf32>) -> !onnx.any
    return %m, %a, %s, %i : !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  // CHECK-LABEL: func.func @input_axes
  func.func @input_axes(%x: tensor<2x?x8xf32>, %unknown: tensor<1xi64>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    %axes = onnx.constant "axes" dense<[1]> : tensor<1xi64>
    // CHECK: "ReduceMean"{{.*}} -> tensor<2x1x8xf32>
    %m = onnx.node "ReduceMean"(%x, %axes) : (tensor<2x?x8xf32>, tensor<1xi64>) -> !onnx.any
    // CHECK: "ReduceMax"{{.*}} -> tensor<2x?x8xf32>
    %n = onnx.node "ReduceMax"(%x) {node_attrs = {noop_with_empty_axes = 1 : i64}} : (tensor<2x?x8xf32>) -> !onnx.any
    // CHECK: "ReduceMin"{{.*}} -> tensor<?x?x?xf32>
    %u = onnx.node "ReduceMin"(%x, %unknown) : (tensor<2x?x8xf32>, tensor<1xi64>) -> !onnx.any
    // Without keepdims, unknown axes drop as many dimensions as there are axes.
    // CHECK: "ReduceL2"{{.*}} -> tensor<?x?xf32>
    %d = onnx.node "ReduceL2"(%x, %unknown) {node_attrs = {keepdims = 0 : i64}} : (tensor<2x?x8xf32>, tensor<1xi64>) -> !onnx.any
    // CHECK: "LayerNormalization"{{.*}} -> (tensor<2x?x8xf32>, tensor<2x?x1xf32>, tensor<2x?x1xf32>)
    %y, %mean, %inv = onnx.node "LayerNormalization"(%x, %x, %x) : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any, !onnx.any)
    return %m, %n, %u, %y, %d : !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}
