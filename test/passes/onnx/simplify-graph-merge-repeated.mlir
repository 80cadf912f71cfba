// RUN: moe-opt %s -moec-simplify-graph | FileCheck %s
// A node that computes what an earlier node computes (names aside) is replaced by it; one
// with other attributes is not.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @repeated
  func.func @repeated(%x: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
    // CHECK: %[[A:.*]] = onnx.node "Softmax"(%arg0) {name = "a"
    // CHECK-NEXT: %[[C:.*]] = onnx.node "Softmax"(%arg0) {name = "c"
    // CHECK-NEXT: return %[[A]], %[[A]], %[[C]]
    %a = onnx.node "Softmax"(%x) {name = "a", node_attrs = {axis = -1 : i64}} : (tensor<?x32xf32>) -> tensor<?x32xf32>
    %b = onnx.node "Softmax"(%x) {name = "b", node_attrs = {axis = -1 : i64}} : (tensor<?x32xf32>) -> tensor<?x32xf32>
    %c = onnx.node "Softmax"(%x) {name = "c", node_attrs = {axis = 0 : i64}} : (tensor<?x32xf32>) -> tensor<?x32xf32>
    return %a, %b, %c : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
  }
}
