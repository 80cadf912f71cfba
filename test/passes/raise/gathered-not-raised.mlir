// RUN: moe-opt %s -split-input-file -moec-raise-gathered-moe -verify-diagnostics | FileCheck %s
// A layer of gathered experts that differs from what moe.layer computes in any detail stays
// as it is, with a remark on its sum over the slots that says why: each case is one change of
// the layer in gathered-minimal.mlir.

// CHECK-NOT: moe.layer

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
// The rows are weighted by something else than the router's top-k weights.
func.func @other_weights(%x: tensor<?x2xf32>, %other: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %w = onnx.node "Reshape"(%other, %last) {name = "w"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?xf32>
  %wColumn = onnx.node "Unsqueeze"(%w, %last) {name = "w_column"} : (tensor<?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %weighted = onnx.node "Mul"(%o, %wColumn) {name = "weighted"} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %z = onnx.node "Reshape"(%weighted, %slots) {name = "by_token"} : (tensor<?x2xf32>, tensor<3xi64>) -> tensor<?x2x2xf32>
  // expected-remark @+1 {{'sum' (ReduceSum) not raised to moe.layer: the expert rows are not weighted by the router's weights}}
  %y = onnx.node "ReduceSum"(%z, %one) {name = "sum", node_attrs = {keepdims = 0 : i64}} : (tensor<?x2x2xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
// Experts chosen on the biased logits, weighed by the tanh of the chosen logits: only a
// sigmoid of them is a routing.
func.func @tanh_of_chosen_logits(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<2> : tensor<1xi64>
  %bias = onnx.constant "bias" dense<[0.5, -0.5]> : tensor<2xf32>
  %up = onnx.constant "up" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[-1.0, 2.0], [3.0, -4.0], [5.0, 6.0], [-7.0, 8.0]]]> : tensor<2x4x2xf32>
  %down = onnx.constant "down" dense<[[[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]], [[2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]]]> : tensor<2x2x4xf32>
  %one = onnx.constant "one" dense<[1]> : tensor<1xi64>
  %last = onnx.constant "last" dense<[-1]> : tensor<1xi64>
  %repeat = onnx.constant "repeat" dense<[1, 2, 1]> : tensor<3xi64>
  %rows = onnx.constant "rows" dense<[-1, 2]> : tensor<2xi64>
  %slots = onnx.constant "slots" dense<[-1, 2, 2]> : tensor<3xi64>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %choice = onnx.node "Add"(%logits, %bias) {name = "biased"} : (tensor<?x2xf32>, tensor<2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%choice, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
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
  %chosen = onnx.node "GatherElements"(%logits, %top#1) {name = "chosen", node_attrs = {axis = 1 : i64}} : (tensor<?x2xf32>, tensor<?x2xi64>) -> tensor<?x2xf32>
  %tanh = onnx.node "Tanh"(%chosen) {name = "tanh"} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %w = onnx.node "Reshape"(%tanh, %last) {name = "w"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?xf32>
  %wColumn = onnx.node "Unsqueeze"(%w, %last) {name = "w_column"} : (tensor<?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %weighted = onnx.node "Mul"(%o, %wColumn) {name = "weighted"} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %z = onnx.node "Reshape"(%weighted, %slots) {name = "by_token"} : (tensor<?x2xf32>, tensor<3xi64>) -> tensor<?x2x2xf32>
  // expected-remark @+1 {{'sum' (ReduceSum) not raised to moe.layer: 'topk' (TopK) chooses from 'biased' (Add), not from a softmax of router logits, from logits (optionally biased) whose top k are softmaxed or sigmoided, or from sigmoid, sqrt-softplus or biased softmax scores}}
  %y = onnx.node "ReduceSum"(%z, %one) {name = "sum", node_attrs = {keepdims = 0 : i64}} : (tensor<?x2x2xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
// The weights are divided by their sum minus a constant: not a renormalization.
func.func @sum_minus_constant(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<2> : tensor<1xi64>
  %up = onnx.constant "up" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[-1.0, 2.0], [3.0, -4.0], [5.0, 6.0], [-7.0, 8.0]]]> : tensor<2x4x2xf32>
  %down = onnx.constant "down" dense<[[[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]], [[2.0, 0.0, 2.0, 0.0], [0.0, 2.0, 0.0, 2.0]]]> : tensor<2x2x4xf32>
  %one = onnx.constant "one" dense<[1]> : tensor<1xi64>
  %minusHalf = onnx.constant "minus_half" dense<-5.000000e-01> : tensor<f32>
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
  %sum = onnx.node "ReduceSum"(%top#0, %last) {name = "weight_sum"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %shifted = onnx.node "Add"(%sum, %minusHalf) {name = "shifted"} : (tensor<?x1xf32>, tensor<f32>) -> tensor<?x1xf32>
  %divided = onnx.node "Div"(%top#0, %shifted) {name = "divided"} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %w = onnx.node "Reshape"(%divided, %last) {name = "w"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?xf32>
  %wColumn = onnx.node "Unsqueeze"(%w, %last) {name = "w_column"} : (tensor<?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %weighted = onnx.node "Mul"(%o, %wColumn) {name = "weighted"} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %z = onnx.node "Reshape"(%weighted, %slots) {name = "by_token"} : (tensor<?x2xf32>, tensor<3xi64>) -> tensor<?x2x2xf32>
  // expected-remark @+1 {{'sum' (ReduceSum) not raised to moe.layer: the expert rows are not weighted by the router's weights}}
  %y = onnx.node "ReduceSum"(%z, %one) {name = "sum", node_attrs = {keepdims = 0 : i64}} : (tensor<?x2x2xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
// The experts read other rows than the tokens repeated for each slot.
func.func @other_rows(%x: tensor<?x2xf32>, %other: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %input = onnx.node "Unsqueeze"(%other, %last) {name = "input"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?x2x1xf32>
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
  // expected-remark @+1 {{'sum' (ReduceSum) not raised to moe.layer: the experts do not read the router's tokens repeated for each slot}}
  %y = onnx.node "ReduceSum"(%z, %one) {name = "sum", node_attrs = {keepdims = 0 : i64}} : (tensor<?x2x2xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
// The down projection gathers by another TopK's choice.
func.func @other_choice(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %other:2 = onnx.node "TopK"(%logits, %k) {name = "other_topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x2xf32>, tensor<?x2xi64>)
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
  %downIds = onnx.node "Reshape"(%other#1, %last) {name = "down_ids"} : (tensor<?x2xi64>, tensor<1xi64>) -> tensor<?xi64>
  %downRows = onnx.node "Gather"(%down, %downIds) {name = "down_rows", node_attrs = {axis = 0 : i64}} : (tensor<2x2x4xf32>, tensor<?xi64>) -> tensor<?x2x4xf32>
  %aColumn = onnx.node "Unsqueeze"(%a, %last) {name = "a_column"} : (tensor<?x4xf32>, tensor<1xi64>) -> tensor<?x4x1xf32>
  %o3 = onnx.node "MatMul"(%downRows, %aColumn) {name = "down"} : (tensor<?x2x4xf32>, tensor<?x4x1xf32>) -> tensor<?x2x1xf32>
  %o = onnx.node "Squeeze"(%o3, %last) {name = "o"} : (tensor<?x2x1xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  %w = onnx.node "Reshape"(%top#0, %last) {name = "w"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?xf32>
  %wColumn = onnx.node "Unsqueeze"(%w, %last) {name = "w_column"} : (tensor<?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %weighted = onnx.node "Mul"(%o, %wColumn) {name = "weighted"} : (tensor<?x2xf32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %z = onnx.node "Reshape"(%weighted, %slots) {name = "by_token"} : (tensor<?x2xf32>, tensor<3xi64>) -> tensor<?x2x2xf32>
  // expected-remark @+1 {{'sum' (ReduceSum) not raised to moe.layer: the projections gather by different expert choices}}
  %y = onnx.node "ReduceSum"(%z, %one) {name = "sum", node_attrs = {keepdims = 0 : i64}} : (tensor<?x2x2xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
// The up stack is f16, the tokens f32: moe.layer takes one element type.
func.func @half_precision_up(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<2> : tensor<1xi64>
  %up = onnx.constant "up" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[-1.0, 2.0], [3.0, -4.0], [5.0, 6.0], [-7.0, 8.0]]]> : tensor<2x4x2xf16>
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
  %upRows = onnx.node "GatherND"(%up, %idsColumn) {name = "up_rows"} : (tensor<2x4x2xf16>, tensor<?x1xi64>) -> tensor<?x4x2xf16>
  %input = onnx.node "Unsqueeze"(%repeated, %last) {name = "input"} : (tensor<?x2xf32>, tensor<1xi64>) -> tensor<?x2x1xf32>
  %h3 = onnx.node "MatMul"(%upRows, %input) {name = "up"} : (tensor<?x4x2xf16>, tensor<?x2x1xf32>) -> tensor<?x4x1xf32>
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
  // expected-remark @+1 {{'sum' (ReduceSum) not raised to moe.layer: weights and tokens have different element types}}
  %y = onnx.node "ReduceSum"(%z, %one) {name = "sum", node_attrs = {keepdims = 0 : i64}} : (tensor<?x2x2xf32>, tensor<1xi64>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
}
