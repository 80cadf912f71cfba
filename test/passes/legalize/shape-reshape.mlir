// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Reshapes keep the element order: a collapse or expand where the shapes allow one, else
// tensor.reshape with the sizes computed at run time.

// A constant shape with -1: the result type is static, the reshape a collapse.
// CHECK-LABEL: func.func @constant_shape
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
func.func @constant_shape(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %s = onnx.constant "s" dense<[-1, 4]> : tensor<2xi64>
  %0 = onnx.node "Reshape"(%x, %s) : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// A shape known only at run time: 0 copies the input's size, -1 is inferred (as 0 when the
// other sizes multiply to 0, without dividing by 0).
// CHECK-LABEL: func.func @runtime_shape
// CHECK: %[[S0:.*]] = tensor.extract %arg1[%{{.*}}] : tensor<2xi64>
// CHECK: %[[I0:.*]] = arith.index_cast %[[S0]] : i64 to index
// CHECK: %[[Z0:.*]] = arith.cmpi eq, %[[I0]], %{{.*}} : index
// CHECK: %[[D0:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x4xf32>
// CHECK: arith.select %[[Z0]], %[[D0]], %[[I0]] : index
// CHECK: %[[KNOWN0:.*]] = arith.muli
// CHECK: %[[KNOWN:.*]] = arith.muli %[[KNOWN0]]
// CHECK-NEXT: %[[DIVISOR:.*]] = arith.maxui %[[KNOWN]], %{{.*}} : index
// CHECK: arith.divui %{{.*}}, %[[DIVISOR]] : index
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %{{.*}}, %{{.*}} : tensor<2xindex>
// CHECK: tensor.reshape %arg0(%[[SHAPE]]) : (tensor<?x4xf32>, tensor<2xindex>) -> tensor<?x?xf32>
func.func @runtime_shape(%x: tensor<?x4xf32>, %s: tensor<2xi64>) -> tensor<?x?xf32> {
  %0 = onnx.node "Reshape"(%x, %s) : (tensor<?x4xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// Unsqueeze with a negative axis: an expand that keeps the dynamic size.
// CHECK-LABEL: func.func @unsqueeze
// CHECK: %[[D:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x4xf32>
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2]] output_shape [%[[D]], 1, 4] : tensor<?x4xf32> into tensor<?x1x4xf32>
func.func @unsqueeze(%x: tensor<?x4xf32>) -> tensor<?x1x4xf32> {
  %0 = onnx.node "Unsqueeze"(%x) {node_attrs = {axes = array<i64: -2>}} : (tensor<?x4xf32>) -> tensor<?x1x4xf32>
  return %0 : tensor<?x1x4xf32>
}

// Squeeze's axes as an input (opset 13).
// CHECK-LABEL: func.func @squeeze
// CHECK: tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<1x3x5xf32> into tensor<3x5xf32>
func.func @squeeze(%x: tensor<1x3x5xf32>) -> tensor<3x5xf32> {
  %axes = onnx.constant "axes" dense<[0]> : tensor<1xi64>
  %0 = onnx.node "Squeeze"(%x, %axes) : (tensor<1x3x5xf32>, tensor<1xi64>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// Flatten at axis 0: 2x3 to 1x6 is neither a collapse nor an expand.
// CHECK-LABEL: func.func @flatten
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %{{.*}}, %{{.*}} : tensor<2xindex>
// CHECK: tensor.reshape %arg0(%[[SHAPE]]) : (tensor<2x3xf32>, tensor<2xindex>) -> tensor<1x6xf32>
func.func @flatten(%x: tensor<2x3xf32>) -> tensor<1x6xf32> {
  %0 = onnx.node "Flatten"(%x) {node_attrs = {axis = 0 : i64}} : (tensor<2x3xf32>) -> tensor<1x6xf32>
  return %0 : tensor<1x6xf32>
}

// Which dynamic sizes multiply into which is unknown: no expand_shape is guessed.
// CHECK-LABEL: func.func @ambiguous_dynamic
// CHECK-NOT: tensor.expand_shape
// CHECK: tensor.reshape %arg0(%{{.*}}) : (tensor<?x?xf32>, tensor<3xindex>) -> tensor<?x?x?xf32>
func.func @ambiguous_dynamic(%x: tensor<?x?xf32>, %s: tensor<3xi64>) -> tensor<?x?x?xf32> {
  %0 = onnx.node "Reshape"(%x, %s) : (tensor<?x?xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return %0 : tensor<?x?x?xf32>
}

// Shape -> Concat -> Reshape as PyTorch exports it: the concatenated shape stays a
// from_elements, and the reshape computes the batch size from tensor.dim, reading nothing
// back from a tensor.
// CHECK-LABEL: func.func @shape_concat_reshape
// CHECK: %[[N:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x4xf32>
// CHECK: tensor.from_elements %{{.*}}, %{{.*}}, %{{.*}} : tensor<3xi64>
// CHECK-NOT: tensor.extract
// CHECK: arith.cmpi eq, %[[N]], %{{.*}} : index
// CHECK-NOT: tensor.extract
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2]] output_shape [%{{.*}}, 2, 2] : tensor<?x4xf32> into tensor<?x2x2xf32>
func.func @shape_concat_reshape(%x: tensor<?x4xf32>) -> tensor<?x2x2xf32> {
  %n = onnx.node "Shape"(%x) {node_attrs = {end = 1 : i64}} : (tensor<?x4xf32>) -> tensor<1xi64>
  %c = onnx.constant "c" dense<[2, 2]> : tensor<2xi64>
  %s = onnx.node "Concat"(%n, %c) {node_attrs = {axis = 0 : i64}} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  %0 = onnx.node "Reshape"(%x, %s) : (tensor<?x4xf32>, tensor<3xi64>) -> tensor<?x2x2xf32>
  return %0 : tensor<?x2x2xf32>
}

// To a scalar from dynamic dims: tensor.reshape with an empty shape (a collapse to rank 0
// takes static unit dims only), after the element count check.
// CHECK-LABEL: func.func @to_scalar
// CHECK: moe.check
// CHECK: %[[SHAPE:.*]] = tensor.from_elements  : tensor<0xindex>
// CHECK: tensor.reshape %arg0(%[[SHAPE]]) : (tensor<?x?xf32>, tensor<0xindex>) -> tensor<f32>
func.func @to_scalar(%x: tensor<?x?xf32>) -> tensor<f32> {
  %s = onnx.constant "s" dense<> : tensor<0xi64>
  %0 = onnx.node "Reshape"(%x, %s) : (tensor<?x?xf32>, tensor<0xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}
