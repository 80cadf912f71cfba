// RUN: moe-opt %s -moec-simplify-graph -split-input-file | FileCheck %s
// Identity, a Cast to the input's own type, a Reshape to the input's own shape and an
// Expand of a static tensor to its own shape give their input back.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @no_ops
  // CHECK-SAME: (%[[X:.*]]: tensor<?x32xf32>, %[[S:.*]]: tensor<4x8xf32>)
  func.func @no_ops(%x: tensor<?x32xf32>, %s: tensor<4x8xf32>) -> (tensor<?x32xf32>, tensor<4x8xf32>) {
    // CHECK-NOT: onnx.node
    // CHECK: return %[[X]], %[[S]]
    %i = onnx.node "Identity"(%x) : (tensor<?x32xf32>) -> tensor<?x32xf32>
    %c = onnx.node "Cast"(%i) {node_attrs = {to = 1 : i64}} : (tensor<?x32xf32>) -> tensor<?x32xf32>
    %shape = onnx.constant "shape" dense<[-1, 32]> : tensor<2xi64>
    %r = onnx.node "Reshape"(%c, %shape) : (tensor<?x32xf32>, tensor<2xi64>) -> tensor<?x32xf32>
    %to = onnx.constant "to" dense<[4, 8]> : tensor<2xi64>
    %e = onnx.node "Expand"(%s, %to) : (tensor<4x8xf32>, tensor<2xi64>) -> tensor<4x8xf32>
    return %r, %e : tensor<?x32xf32>, tensor<4x8xf32>
  }
}

// -----

// Two dims known only at run time: [?, ?] reshaped to [?, ?] may be another shape.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @two_dynamic_dims_stay
  func.func @two_dynamic_dims_stay(%x: tensor<?x?xf32>, %shape: tensor<2xi64>) -> tensor<?x?xf32> {
    // CHECK: onnx.node "Reshape"
    %r = onnx.node "Reshape"(%x, %shape) : (tensor<?x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
    return %r : tensor<?x?xf32>
  }
}

// -----

// A Cast that changes the element type is no no-op.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @real_cast_stays
  func.func @real_cast_stays(%x: tensor<?x32xf32>) -> tensor<?x32xf16> {
    // CHECK: onnx.node "Cast"
    %c = onnx.node "Cast"(%x) {node_attrs = {to = 10 : i64}} : (tensor<?x32xf32>) -> tensor<?x32xf16>
    return %c : tensor<?x32xf16>
  }
}
