// RUN: moe-opt %s -moec-legalize-onnx -verify-diagnostics -split-input-file
// What the reductions family cannot compile is named, with the node.

func.func @main(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{node 'r' (ReduceMax): axis 2 is out of range for rank 2}}
  %0 = onnx.node "ReduceMax"(%x) {name = "r", node_attrs = {axes = array<i64: 2>}} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @main(%x: tensor<3x2xi32>) -> tensor<1x1xi32> {
  // expected-error @+1 {{node 'r' (ReduceL2): only floating-point inputs are supported, not i32}}
  %0 = onnx.node "ReduceL2"(%x) {name = "r"} : (tensor<3x2xi32>) -> tensor<1x1xi32>
  return %0 : tensor<1x1xi32>
}

// -----

func.func @main(%x: tensor<3x2xf32>, %axes: tensor<1xi64>) -> tensor<3x1xf32> {
  // expected-error @+1 {{node 'r' (ReduceLogSumExp): a non-constant `axes` input is not supported for ReduceLogSumExp}}
  %0 = onnx.node "ReduceLogSumExp"(%x, %axes) {name = "r"} : (tensor<3x2xf32>, tensor<1xi64>) -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

// -----

func.func @main(%x: tensor<3x2xf32>, %axes: tensor<?xi64>) -> tensor<?x?xf32> {
  // expected-error @+1 {{node 'r' (ReduceSum): a non-constant `axes` input must have a static number of axes}}
  %0 = onnx.node "ReduceSum"(%x, %axes) {name = "r"} : (tensor<3x2xf32>, tensor<?xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}


// -----

func.func @main(%x: tensor<3x2xf32>) -> tensor<3xi64> {
  // expected-error @+1 {{node 'a' (ArgMax): axis -3 is out of range for rank 2}}
  %0 = onnx.node "ArgMax"(%x) {name = "a", node_attrs = {axis = -3 : i64, keepdims = 0 : i64}} : (tensor<3x2xf32>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

func.func @main(%x: tensor<3x2xi32>) -> tensor<3x2xi32> {
  // expected-error @+1 {{node 's' (Softmax): only floating-point inputs are supported, not i32}}
  %0 = onnx.node "Softmax"(%x) {name = "s"} : (tensor<3x2xi32>) -> tensor<3x2xi32>
  return %0 : tensor<3x2xi32>
}

// -----

func.func @main(%x: tensor<3x2xf32>, %s: tensor<2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{node 'n' (LayerNormalization): axis 2 is out of range for rank 2}}
  %0 = onnx.node "LayerNormalization"(%x, %s) {name = "n", node_attrs = {axis = 2 : i64}} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @main(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  // expected-error @+1 {{node 't' (TopK): k is neither an input nor an attribute}}
  %0:2 = onnx.node "TopK"(%x) {name = "t"} : (tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  return %0#0, %0#1 : tensor<3x2xf32>, tensor<3x2xi64>
}

// -----

func.func @main(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %axis = arith.constant dense<2> : tensor<i64>
  // expected-error @+1 {{node 'c' (CumSum): axis 2 is out of range for rank 2}}
  %0 = onnx.node "CumSum"(%x, %axis) {name = "c"} : (tensor<3x4xf32>, tensor<i64>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @main(%x: tensor<3x4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{node 'e' (Einsum): equation 'ij,jk->i' has 2 input terms for 1 inputs}}
  %0 = onnx.node "Einsum"(%x) {name = "e", node_attrs = {equation = "ij,jk->i"}} : (tensor<3x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @main(%x: tensor<3x4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{node 'e' (Einsum): term 'ijk' does not match an input of rank 2}}
  %0 = onnx.node "Einsum"(%x) {name = "e", node_attrs = {equation = "ijk->i"}} : (tensor<3x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @main(%x: tensor<3x4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{node 'e' (Einsum): the output of equation 'ij->k' has a label no input has}}
  %0 = onnx.node "Einsum"(%x) {name = "e", node_attrs = {equation = "ij->k"}} : (tensor<3x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @main(%x: tensor<3x4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{node 'e' (Einsum): the output of equation 'ij->ij' does not match the result's rank 1}}
  %0 = onnx.node "Einsum"(%x) {name = "e", node_attrs = {equation = "ij->ij"}} : (tensor<3x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
