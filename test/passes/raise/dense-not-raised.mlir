// RUN: moe-opt %s -split-input-file -moec-raise-dense-moe -verify-diagnostics | FileCheck %s
// A dense-masked layer that differs from what moe.layer computes in any detail stays as it
// is, with a remark on its combine that says why: one case per reason, each a small change
// of the layer in dense-minimal.mlir.

// CHECK-NOT: moe.layer

// A scatter along the tokens is not a routing mask.
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<1> : tensor<1xi64>
  %up = onnx.constant "up" dense<1.0> : tensor<2x2x4xf32>
  %down = onnx.constant "down" dense<1.0> : tensor<2x4x2xf32>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Softmax"(%logits) {name = "softmax", node_attrs = {axis = -1 : i64}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %shape = onnx.node "Shape"(%scores) {name = "shape"} : (tensor<?x2xf32>) -> tensor<2xi64>
  %zeros = onnx.node "ConstantOfShape"(%shape) {name = "zeros"} : (tensor<2xi64>) -> tensor<?x2xf32>
  %dense = onnx.node "ScatterElements"(%zeros, %top#1, %top#0) {name = "scatter", node_attrs = {axis = 0 : i64}} : (tensor<?x2xf32>, tensor<?x1xi64>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: 'scatter' (ScatterElements) scatters along axis 0, not along the experts}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A scatter that accumulates is not a routing mask.
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<1> : tensor<1xi64>
  %up = onnx.constant "up" dense<1.0> : tensor<2x2x4xf32>
  %down = onnx.constant "down" dense<1.0> : tensor<2x4x2xf32>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Softmax"(%logits) {name = "softmax", node_attrs = {axis = -1 : i64}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %shape = onnx.node "Shape"(%scores) {name = "shape"} : (tensor<?x2xf32>) -> tensor<2xi64>
  %zeros = onnx.node "ConstantOfShape"(%shape) {name = "zeros"} : (tensor<2xi64>) -> tensor<?x2xf32>
  %dense = onnx.node "ScatterElements"(%zeros, %top#1, %top#0) {name = "scatter", node_attrs = {axis = 1 : i64, reduction = "add"}} : (tensor<?x2xf32>, tensor<?x1xi64>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: 'scatter' (ScatterElements) accumulates (reduction 'add') instead of writing the weights}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A router over [B, T, H]: moe.layer takes [T, H] tokens.
func.func @f(%x: tensor<?x2xf32>, %x3: tensor<1x?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<1> : tensor<1xi64>
  %up = onnx.constant "up" dense<1.0> : tensor<2x2x4xf32>
  %down = onnx.constant "down" dense<1.0> : tensor<2x4x2xf32>
  %logits = onnx.node "MatMul"(%x3, %router) {name = "router"} : (tensor<1x?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Softmax"(%logits) {name = "softmax", node_attrs = {axis = -1 : i64}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %shape = onnx.node "Shape"(%scores) {name = "shape"} : (tensor<?x2xf32>) -> tensor<2xi64>
  %zeros = onnx.node "ConstantOfShape"(%shape) {name = "zeros"} : (tensor<2xi64>) -> tensor<?x2xf32>
  %dense = onnx.node "ScatterElements"(%zeros, %top#1, %top#0) {name = "scatter", node_attrs = {axis = 1 : i64}} : (tensor<?x2xf32>, tensor<?x1xi64>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: the router does not read [T, H] tokens}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Weights scaled after the router are not the router's.
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<1> : tensor<1xi64>
  %up = onnx.constant "up" dense<1.0> : tensor<2x2x4xf32>
  %down = onnx.constant "down" dense<1.0> : tensor<2x4x2xf32>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Softmax"(%logits) {name = "softmax", node_attrs = {axis = -1 : i64}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %scaled = onnx.node "Neg"(%top#0) {name = "negate"} : (tensor<?x1xf32>) -> tensor<?x1xf32>
  %shape = onnx.node "Shape"(%scores) {name = "shape"} : (tensor<?x2xf32>) -> tensor<2xi64>
  %zeros = onnx.node "ConstantOfShape"(%shape) {name = "zeros"} : (tensor<2xi64>) -> tensor<?x2xf32>
  %dense = onnx.node "ScatterElements"(%zeros, %top#1, %scaled) {name = "scatter", node_attrs = {axis = 1 : i64}} : (tensor<?x2xf32>, tensor<?x1xi64>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: the scattered weights are not the router's top-k weights}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Tanh scores: a router the shared matcher does not know.
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<1> : tensor<1xi64>
  %up = onnx.constant "up" dense<1.0> : tensor<2x2x4xf32>
  %down = onnx.constant "down" dense<1.0> : tensor<2x4x2xf32>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Tanh"(%logits) {name = "tanh"} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %shape = onnx.node "Shape"(%scores) {name = "shape"} : (tensor<?x2xf32>) -> tensor<2xi64>
  %zeros = onnx.node "ConstantOfShape"(%shape) {name = "zeros"} : (tensor<2xi64>) -> tensor<?x2xf32>
  %dense = onnx.node "ScatterElements"(%zeros, %top#1, %top#0) {name = "scatter", node_attrs = {axis = 1 : i64}} : (tensor<?x2xf32>, tensor<?x1xi64>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: 'topk' (TopK) chooses from 'tanh' (Tanh), not from a softmax of router logits}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// An activation moe.expert has no equivalent.
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %a = onnx.node "Tanh"(%h) {name = "tanh"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: unknown activation: 'tanh' (Tanh) feeds the down projection}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// An Einsum that is not a projection over the stacked weights (the output's axes swapped).
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->ten"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: 'up' (Einsum) is not a projection over stacked weights}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Stacked weights that are not constants.
func.func @f(%x: tensor<?x2xf32>, %w: tensor<2x4x2xf32>) -> tensor<?x2xf32> {
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
  %o = onnx.node "MatMul"(%a, %w) {name = "down"} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: 'down' (MatMul) has no constant stacked [E, K, N] weight}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Experts that do not read the router's tokens.
func.func @f(%x: tensor<?x2xf32>, %other: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %h = onnx.node "Einsum"(%other, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<2x2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: a projection of the expert does not read the expert's input}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A router over 2 experts with 3 stacked experts.
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %router = onnx.constant "router" dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %k = onnx.constant "k" dense<1> : tensor<1xi64>
  %up = onnx.constant "up" dense<1.0> : tensor<3x2x4xf32>
  %down = onnx.constant "down" dense<1.0> : tensor<3x4x2xf32>
  %logits = onnx.node "MatMul"(%x, %router) {name = "router"} : (tensor<?x2xf32>, tensor<2x2xf32>) -> tensor<?x2xf32>
  %scores = onnx.node "Softmax"(%logits) {name = "softmax", node_attrs = {axis = -1 : i64}} : (tensor<?x2xf32>) -> tensor<?x2xf32>
  %top:2 = onnx.node "TopK"(%scores, %k) {name = "topk"} : (tensor<?x2xf32>, tensor<1xi64>) -> (tensor<?x1xf32>, tensor<?x1xi64>)
  %shape = onnx.node "Shape"(%scores) {name = "shape"} : (tensor<?x2xf32>) -> tensor<2xi64>
  %zeros = onnx.node "ConstantOfShape"(%shape) {name = "zeros"} : (tensor<2xi64>) -> tensor<?x2xf32>
  %dense = onnx.node "ScatterElements"(%zeros, %top#1, %top#0) {name = "scatter", node_attrs = {axis = 1 : i64}} : (tensor<?x2xf32>, tensor<?x1xi64>, tensor<?x1xf32>) -> tensor<?x2xf32>
  %h = onnx.node "Einsum"(%x, %up) {name = "up", node_attrs = {equation = "th,ehn->etn"}} : (tensor<?x2xf32>, tensor<3x2x4xf32>) -> tensor<3x?x4xf32>
  %a = onnx.node "Relu"(%h) {name = "relu"} : (tensor<3x?x4xf32>) -> tensor<3x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<3x?x4xf32>, tensor<3x4x2xf32>) -> tensor<3x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: the router chooses among 2 experts but the stacked weights hold 3}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<3x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A bias not stacked per expert ([E, N] would broadcast over the tokens).
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %b = onnx.constant "b" dense<1.0> : tensor<2x4xf32>
  %hb = onnx.node "Add"(%h, %b) {name = "bias"} : (tensor<2x?x4xf32>, tensor<2x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%hb) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: 'bias' (Add) is not a stacked projection's bias add}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// A stacked bias that is not [E, 1, N].
func.func @f(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
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
  %b = onnx.constant "b" dense<1.0> : tensor<1x1x4xf32>
  %hb = onnx.node "Add"(%h, %b) {name = "bias"} : (tensor<2x?x4xf32>, tensor<1x1x4xf32>) -> tensor<2x?x4xf32>
  %a = onnx.node "Relu"(%hb) {name = "relu"} : (tensor<2x?x4xf32>) -> tensor<2x?x4xf32>
  %o = onnx.node "Einsum"(%a, %down) {name = "down", node_attrs = {equation = "etn,enh->eth"}} : (tensor<2x?x4xf32>, tensor<2x4x2xf32>) -> tensor<2x?x2xf32>
  // expected-remark @+1 {{'combine' (Einsum) not raised to moe.layer: constant 'b' is added to a stacked projection but is not an [E, 1, N] bias}}
  %y = onnx.node "Einsum"(%dense, %o) {name = "combine", node_attrs = {equation = "te,eth->th"}} : (tensor<?x2xf32>, tensor<2x?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
