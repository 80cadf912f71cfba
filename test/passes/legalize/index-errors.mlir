// RUN: moe-opt %s -moec-legalize-onnx -verify-diagnostics -split-input-file
// Indexing nodes that cannot compile say why, naming the node.

func.func @main(%data: tensor<5x4xf32>, %indices: tensor<3xi64>) -> tensor<5x3xf32> {
  // expected-error @+1 {{node 'gather' (Gather): axis 2 is out of range for rank 2}}
  %0 = onnx.node "Gather"(%data, %indices) {name = "gather", node_attrs = {axis = 2 : i64}} : (tensor<5x4xf32>, tensor<3xi64>) -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

func.func @main(%data: tensor<5xf32>, %indices: tensor<2xi64>, %updates: tensor<2xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{node 'scatter' (ScatterElements): reduction 'sub' is not one of none, add, mul, max, min}}
  %0 = onnx.node "ScatterElements"(%data, %indices, %updates) {name = "scatter", node_attrs = {reduction = "sub"}} : (tensor<5xf32>, tensor<2xi64>, tensor<2xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @main(%data: tensor<4x4xf32>, %indices: tensor<3x?xi64>) -> tensor<3x1x1xf32> {
  // expected-error @+1 {{node 'gathernd' (GatherND): the ranks of indices and the result give index tuples of length 0, outside [1, 2]}}
  %0 = onnx.node "GatherND"(%data, %indices) {name = "gathernd"} : (tensor<4x4xf32>, tensor<3x?xi64>) -> tensor<3x1x1xf32>
  return %0 : tensor<3x1x1xf32>
}

// -----

func.func @main(%data: tensor<4x4xf32>, %indices: tensor<3x3xi64>) -> tensor<3xf32> {
  // expected-error @+1 {{node 'gathernd' (GatherND): the last dimension of indices is 3, but the ranks of indices and the result give index tuples of length 2}}
  %0 = onnx.node "GatherND"(%data, %indices) {name = "gathernd"} : (tensor<4x4xf32>, tensor<3x3xi64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @main(%data: tensor<4x4xf32>, %indices: tensor<4x1xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{node 'gathernd' (GatherND): batch_dims 2 must be below the ranks of data and indices}}
  %0 = onnx.node "GatherND"(%data, %indices) {name = "gathernd", node_attrs = {batch_dims = 2 : i64}} : (tensor<4x4xf32>, tensor<4x1xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @main(%data: tensor<3x2xf32>, %condition: tensor<2x1xi1>) -> tensor<?xf32> {
  // expected-error @+1 {{node 'compress' (Compress): condition must be 1-D}}
  %0 = onnx.node "Compress"(%data, %condition) {name = "compress"} : (tensor<3x2xf32>, tensor<2x1xi1>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @main(%indices: tensor<3xi64>, %depth: tensor<1x1xi64>, %values: tensor<2xf32>) -> tensor<3x?xf32> {
  // expected-error @+1 {{node 'onehot' (OneHot): depth must be a scalar or a 1-element tensor}}
  %0 = onnx.node "OneHot"(%indices, %depth, %values) {name = "onehot"} : (tensor<3xi64>, tensor<1x1xi64>, tensor<2xf32>) -> tensor<3x?xf32>
  return %0 : tensor<3x?xf32>
}

// -----

func.func @main(%data: tensor<5xf32>, %indices: tensor<2x1xi64>, %updates: tensor<2xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{node 'scatter' (ScatterElements): indices and updates must have the rank of data}}
  %0 = onnx.node "ScatterElements"(%data, %indices, %updates) {name = "scatter"} : (tensor<5xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @main(%data: tensor<4x4xf32>, %indices: tensor<2x1xi64>, %updates: tensor<2xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{node 'scatternd' (ScatterND): the last dimension of indices is 1, but the ranks of indices and updates give index tuples of length 2}}
  %0 = onnx.node "ScatterND"(%data, %indices, %updates) {name = "scatternd"} : (tensor<4x4xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @main(%data: tensor<*xf32>, %indices: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+1 {{node 'gather' (Gather): input 0 is not a ranked tensor}}
  %0 = onnx.node "Gather"(%data, %indices) {name = "gather"} : (tensor<*xf32>, tensor<2xi64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
