// RUN: moe-opt %s -moec-simplify-graph -split-input-file | FileCheck %s
// A reshape of a reshape reads the first one's input, and a chain that gives a tensor its own
// shape back is that tensor.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // torch.export views the hidden states twice in a row: the second view reads the states,
  // and then repeats the first.
  // CHECK-LABEL: func.func @view_of_view
  // CHECK-SAME: (%[[X:.*]]: tensor<?x?x32xf32>)
  func.func @view_of_view(%x: tensor<?x?x32xf32>) -> tensor<?x32xf32> {
    // CHECK: %[[SHAPE:.*]] = onnx.constant "rows"
    // CHECK-NEXT: %[[R:.*]] = onnx.node "Reshape"(%[[X]], %[[SHAPE]]) {name = "view"
    // CHECK-NEXT: return %[[R]]
    %rows = onnx.constant "rows" dense<[-1, 32]> : tensor<2xi64>
    %v = onnx.node "Reshape"(%x, %rows) {name = "view"} : (tensor<?x?x32xf32>, tensor<2xi64>) -> tensor<?x32xf32>
    %w = onnx.node "Reshape"(%v, %rows) {name = "view_1"} : (tensor<?x32xf32>, tensor<2xi64>) -> tensor<?x32xf32>
    return %w : tensor<?x32xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @squeeze_of_unsqueeze
  // CHECK-SAME: (%[[X:.*]]: tensor<?x32xf32>)
  func.func @squeeze_of_unsqueeze(%x: tensor<?x32xf32>) -> tensor<?x32xf32> {
    // CHECK-NOT: onnx.node
    // CHECK: return %[[X]]
    %axis = onnx.constant "axis" dense<[1]> : tensor<1xi64>
    %u = onnx.node "Unsqueeze"(%x, %axis) : (tensor<?x32xf32>, tensor<1xi64>) -> tensor<?x1x32xf32>
    %s = onnx.node "Squeeze"(%u, %axis) : (tensor<?x1x32xf32>, tensor<1xi64>) -> tensor<?x32xf32>
    return %s : tensor<?x32xf32>
  }
}

// -----

// A 0 in the second target copies a dim of the first reshape's result, not of its input.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @copied_dim_stays
  func.func @copied_dim_stays(%x: tensor<?x?x32xf32>) -> tensor<?x2x16xf32> {
    // CHECK: %[[V:.*]] = onnx.node "Reshape"(%arg0
    // CHECK: onnx.node "Reshape"(%[[V]]
    %rows = onnx.constant "rows" dense<[-1, 32]> : tensor<2xi64>
    %v = onnx.node "Reshape"(%x, %rows) : (tensor<?x?x32xf32>, tensor<2xi64>) -> tensor<?x32xf32>
    %copy = onnx.constant "copy" dense<[0, 2, 16]> : tensor<3xi64>
    %w = onnx.node "Reshape"(%v, %copy) : (tensor<?x32xf32>, tensor<3xi64>) -> tensor<?x2x16xf32>
    return %w : tensor<?x2x16xf32>
  }
}
