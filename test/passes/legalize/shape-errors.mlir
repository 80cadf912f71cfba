// RUN: moe-opt %s -moec-legalize-onnx -verify-diagnostics -split-input-file
// What the shape ops cannot compile is named on the node.

func.func @main(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{node 't' (Transpose): perm is not a permutation of the input's 2 dimensions}}
  %0 = onnx.node "Transpose"(%x) {name = "t", node_attrs = {perm = array<i64: 0, 0>}} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @main(%x: tensor<?x3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{node 's' (Squeeze): without axes, dynamic dimension 0 might or might not be squeezed}}
  %0 = onnx.node "Squeeze"(%x) {name = "s"} : (tensor<?x3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @main(%x: tensor<?x3xf32>, %axes: tensor<1xi64>) -> tensor<?x1x3xf32> {
  // expected-error @+1 {{node 'u' (Unsqueeze): axes known only at run time need a static result shape}}
  %0 = onnx.node "Unsqueeze"(%x, %axes) {name = "u"} : (tensor<?x3xf32>, tensor<1xi64>) -> tensor<?x1x3xf32>
  return %0 : tensor<?x1x3xf32>
}

// -----

func.func @main(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{node 'c' (Concat): axis 1 is out of range for rank 1}}
  %0 = onnx.node "Concat"(%a, %b) {name = "c", node_attrs = {axis = 1 : i64}} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @main(%x: tensor<6xf32>) -> (tensor<2xf32>, tensor<4xf32>) {
  // expected-error @+1 {{node 'p' (Split): split must give one size per output (2)}}
  %0:2 = onnx.node "Split"(%x) {name = "p", node_attrs = {split = array<i64: 1, 2, 3>}} : (tensor<6xf32>) -> (tensor<2xf32>, tensor<4xf32>)
  return %0#0, %0#1 : tensor<2xf32>, tensor<4xf32>
}

// -----

func.func @main(%x: tensor<6xf32>, %s: tensor<2xi64>) -> tensor<?xf32> {
  // expected-error @+1 {{node 'r' (Reshape): the shape operand must hold one size per result dimension (1)}}
  %0 = onnx.node "Reshape"(%x, %s) {name = "r"} : (tensor<6xf32>, tensor<2xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{node 'l' (Trilu): the input must have rank 2 or more}}
  %0 = onnx.node "Trilu"(%x) {name = "l"} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @main(%x: tensor<1x8x2x2xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{node 'd' (DepthToSpace): unknown mode 'XYZ'}}
  %0 = onnx.node "DepthToSpace"(%x) {name = "d", node_attrs = {blocksize = 2 : i64, mode = "XYZ"}} : (tensor<1x8x2x2xf32>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}

// -----

func.func @main(%x: tensor<10xf32>, %s: tensor<1xi64>, %e: tensor<2xi64>) -> tensor<?xf32> {
  // expected-error @+1 {{node 'sl' (Slice): starts, ends, axes and steps must be 1-D of one static length}}
  %0 = onnx.node "Slice"(%x, %s, %e) {name = "sl"} : (tensor<10xf32>, tensor<1xi64>, tensor<2xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @main(%x: tensor<2xf32>, %s: tensor<?xi64>) -> tensor<2x2xf32> {
  // expected-error @+1 {{node 'e' (Expand): the shape operand must have a static length giving the result's rank}}
  %0 = onnx.node "Expand"(%x, %s) {name = "e"} : (tensor<2xf32>, tensor<?xi64>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @main(%x: tensor<2x6xf32>) -> tensor<f32> {
  %s = onnx.constant "s" dense<> : tensor<0xi64>
  // expected-error @+1 {{node 'r' (Reshape): the input's 12 elements do not fill the requested shape (1 elements)}}
  %0 = onnx.node "Reshape"(%x, %s) {name = "r"} : (tensor<2x6xf32>, tensor<0xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}
