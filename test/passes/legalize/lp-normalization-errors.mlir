// RUN: moe-opt %s -moec-legalize-onnx -verify-diagnostics -split-input-file
// LpNormalization with a p onnxruntime's kernel refuses, or an axis out of range, is an
// error naming the node.

func.func @p3(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{node 'lp' (LpNormalization): p 3 is not 1 or 2}}
  %0 = onnx.node "LpNormalization"(%x) {name = "lp", node_attrs = {p = 3 : i64}} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @axis(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{node 'lp' (LpNormalization): axis 2 is out of range for rank 2}}
  %0 = onnx.node "LpNormalization"(%x) {name = "lp", node_attrs = {axis = 2 : i64}} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
