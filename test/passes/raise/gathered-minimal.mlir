// RUN: moe-opt %s -moec-raise-gathered-moe | FileCheck %s
// The smallest layer of experts on weights gathered per (token, slot), as transformers 5's
// batched_mm computes it: the tokens repeated k times, each row's expert matrices gathered
// by its expert id ([E, out, in] stacks, GatherND and Gather alike), the rows weighted by the
// top-k weights and summed over the slots. It is one moe.layer whose weights are the stacks
// transposed to [E, in, out].

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
// CHECK-LABEL: func.func @gathered
// CHECK-NOT: onnx.node "MatMul"
// CHECK: %[[LAYER:.*]] = moe.layer %arg0, %[[UP:.*]], %[[DOWN:.*]] router(%{{.*}} : tensor<2x2xf32>) routing <scoring = softmax, k = 2> expert <activation = relu> : (tensor<?x2xf32>, tensor<2x2x4xf32>, tensor<2x4x2xf32>) -> tensor<?x2xf32>
// CHECK-NEXT: return %[[LAYER]]
// Each expert's [out, in] up matrix as [in, out]: expert 1's [[-1, 2], [3, -4], [5, 6],
// [-7, 8]] is [[-1, 3, 5, -7], [2, -4, 6, 8]].
// CHECK: up.moe_layout: "0x040000000000803F000040400000A0400000E04000000040000080400000C04000000041000080BF000040400000A0400000E0C000000040000080C00000C04000000041"
func.func @gathered(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<2> : tensor<1xi64>
  %up = onnx.constant "up" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[-1.0, 2.0], [3.0, -4.0], [5.0, 6.0], [-7.0, 8.0]]]> : tensor<2x4x2xf32>
  %down = onnx.constant "down" dense<[[[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]], [[2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]]]> : tensor<2x2x4xf32>
  %one = onnx.constant "one" dense<[1]> : tensor<1xi64>
  %last = onnx.constant "last" dense<[-1]> : tensor<1xi64>
  %repeat = onnx.constant "repeat" dense<[1, 2, 1]> : tensor<3xi64>
  %rows = onnx.constant "rows" dense<[-1, 2]> : tensor<2xi64>
  %slots = onnx.constant "slots" dense<[-1, 2, 2]> : tensor<3xi64>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Softmax"(%logits) {name = "softmax", node_attrs = {axis = -1 : i64}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
  %unsqueezed = onnx.node "Unsqueeze"(%x, %one) {name = "unsqueeze"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?x1x2xf32>
  %expanded = onnx.node "Expand"(%unsqueezed, %repeat) {name = "expand"} : (tensor<?x1x2xf32>, tensor<3xi64>) -> tensor<?x2x2xf32>
  %repeated = onnx.node "Reshape"(%expanded, %rows) {name = "repeat_interleave"} : (tensor<?x2x2xf32>, tensor<2xi64>) -> tensor<?x2xf32>
  %ids = onnx.node "Reshape"(%top#1, %last) {name = "ids"} : (tensor<?x2xi64>, tensor<1xi64>) -> tensor<?xi64>
  %idsColumn = onnx.node "Unsqueeze"(%ids, %last) {name = "ids_column"} : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %upRows = onnx.node "GatherND"(%up, %idsColumn) {name = "up_rows"} : (tensor<2x4x2xf32>, tensor<?x1xi64>) -> tensor<?x4x2xf32>
  %input = onnx.node "Unsqueeze"(%repeated, %last) {name = "input"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?x2x1xf32>
  %h3 = onnx.node "MatMul"(%upRows, %input) {name = "up"} : (tensor<?x4x2xf32>, tensor<?x2x1xf32>) -> tensor<?x4x1xf32>
  %h = onnx.node "Squeeze"(%h3, %last) {name = "h"} : (tensor<?x4x1xf32>, tensor<1xi64>) -> tensor<?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %downIds = onnx.node "Reshape"(%top#1, %last) {name = "down_ids"} : (tensor<?x2xi64>, tensor<1xi64>) -> tensor<?xi64>
  %downRows = onnx.node "Gather"(%down, %downIds) {name = "down_rows", node_attrs = {axis = 0 : i64}} : (tensor<2x2x4xf32>, tensor<?xi64>) -> tensor<?x2x4xf32>
  %aColumn = onnx.node "Unsqueeze"(%a, %last) {name = "a_column"} : (tensor<?x4xf32>, tensor<1xi64>) -> tensor<?x4x1xf32>
  %o3 = onnx.node "MatMul"(%downRows, %aColumn) {name = "down"} : (tensor<?x2x4xf32>, tensor<?x4x1xf32>) -> tensor<?x2x1xf32>
  %o = onnx.node "Squeeze"(%o3, %last) {name = "o"} : (tensor<?x2x1xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  %w = onnx.node "Reshape"(%top#0, %last) {name = "w"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?xf32>
  %wColumn = onnx.node "Unsqueeze"(%w, %last) {name = "w_column"} : (tensor<?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %weighted = onnx.node "Mul"(%o, %wColumn) {name = "weighted"} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %z = onnx.node "Reshape"(%weighted, %slots) {name = "by_token"} : (tensor<?x2xf32>, tensor<3xi64>) -> tensor<?x2x2xf32>
  %y = onnx.node "ReduceSum"(%z, %one) {name = "sum", node_attrs = {keepdims = 0 : i64}} : (tensor<?x2x2xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
}
