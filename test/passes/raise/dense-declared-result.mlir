// RUN: moe-opt %s -moec-raise-dense-moe | FileCheck %s
// The layer of dense-minimal.mlir whose combine (the graph's output) is declared [?, ?], as
// some exports declare it: moe.layer gives the tokens' type [?, 2], cast back to the
// declared one.

// CHECK-LABEL: func.func @switch
// CHECK: %[[Y:.*]] = moe.layer {{.*}} -> tensor<?x2xf32>
// CHECK-NEXT: %[[CAST:.*]] = tensor.cast %[[Y]] : tensor<?x2xf32> to tensor<?x?xf32>
// CHECK-NEXT: return %[[CAST]] : tensor<?x?xf32>

func.func @switch(%x: tensor<?x2xf32>) -> tensor<?x?xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<1> : tensor<1xi64>
  %up = onnx.constant "up" dense<1.0> : tensor<2x2x4xf32>
  %down = onnx.constant "down" dense<1.0> : tensor<2x4x2xf32>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Softmax"(%logits) {name = "softmax", node_attrs = {axis = -1 : i64}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %shape = onnx.node "Shape"(%scores) {name = "shape"} : (tensor<?x2xf32>) -> tensor<2xi64>
  %zeros = onnx.node "ConstantOfShape"(%shape) {name = "zeros"} : (tensor<2xi64>) -> tensor<?x2xf32>
  %dense = onnx.node "ScatterElements"(%zeros, %top#1, %top#0) {name = "scatter", node_attrs = {axis = 1 : i64}} : (tensor<?x2xf32>, tensor<?x1xi64>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
