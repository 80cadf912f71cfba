// RUN: moe-opt %s -moec-infer-types | FileCheck %s
// Gathers, scatters and the index ops of MoE routing (TopK, OneHot, NonZero).

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @indexing
  func.func @indexing(%data: tensor<8x16x32xf32>, %ids: tensor<?x2xi64>, %logits: tensor<?x8xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    // CHECK: "Gather"{{.*}} -> tensor<8x?x2x32xf32>
    %g = onnx.node "Gather"(%data, %ids) {node_attrs = {axis = 1 : i64}} : (tensor<8x16x32xf32>, tensor<?x2xi64>) -> !onnx.any
    %nd = onnx.constant "nd" dense<0> : tensor<5x1xi64>
    // CHECK: "GatherND"{{.*}} -> tensor<5x16x32xf32>
    %gn = onnx.node "GatherND"(%data, %nd) : (tensor<8x16x32xf32>, tensor<5x1xi64>) -> !onnx.any
    %k = onnx.constant "k" dense<[2]> : tensor<1xi64>
    // CHECK: "TopK"{{.*}} -> (tensor<?x2xf32>, tensor<?x2xi64>)
    %v, %i = onnx.node "TopK"(%logits, %k) {node_attrs = {axis = -1 : i64}} : (tensor<?x8xf32>, tensor<1xi64>) -> (!onnx.any, !onnx.any)
    %depth = onnx.constant "depth" dense<8> : tensor<i64>
    %values = onnx.constant "values" dense<[0, 1]> : tensor<2xi64>
    // CHECK: "OneHot"{{.*}} -> tensor<8x?x2xi64>
    %o = onnx.node "OneHot"(%i, %depth, %values) {node_attrs = {axis = 0 : i64}} : (!onnx.any, tensor<i64>, tensor<2xi64>) -> !onnx.any
    // CHECK: "NonZero"{{.*}} -> tensor<3x?xi64>
    %n = onnx.node "NonZero"(%o) : (!onnx.any) -> !onnx.any
    // CHECK: "ScatterND"{{.*}} -> tensor<8x16x32xf32>
    %u = onnx.node "ScatterND"(%data, %nd, %gn) {node_attrs = {reduction = "add"}} : (tensor<8x16x32xf32>, tensor<5x1xi64>, !onnx.any) -> !onnx.any
    // CHECK: "GatherElements"{{.*}} -> tensor<?x2xf32>
    %ge = onnx.node "GatherElements"(%logits, %i) {node_attrs = {axis = 1 : i64}} : (tensor<?x8xf32>, !onnx.any) -> !onnx.any
    return %g, %gn, %v, %o, %n, %u, %ge, %i : !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}
