// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// Reduce* from opset 18 (ReduceSum from 13): the axes are an optional input, and
// noop_with_empty_axes says what no axes mean. Opset 20 adds bool to ReduceMax and
// ReduceMin. A node in the form of the other side of its opset's change is refused.

// CHECK-LABEL: func.func @mean_axes_input
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK-NOT: tensor.expand_shape
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @mean_axes_input(%x: tensor<3x2x4xf32>) -> tensor<3x4xf32> {
    %axes = arith.constant dense<[-2]> : tensor<1xi64>
    %0 = onnx.node "ReduceMean"(%x, %axes) {node_attrs = {keepdims = 0 : i64}} : (tensor<3x2x4xf32>, tensor<1xi64>) -> tensor<3x4xf32>
    return %0 : tensor<3x4xf32>
  }
}

// -----

// No axes and noop_with_empty_axes: the input itself.
// CHECK-LABEL: func.func @max_noop
// CHECK-NOT: linalg.generic
// CHECK: return %arg0
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @max_noop(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
    %0 = onnx.node "ReduceMax"(%x) {node_attrs = {noop_with_empty_axes = 1 : i64}} : (tensor<3x2xf32>) -> tensor<3x2xf32>
    return %0 : tensor<3x2xf32>
  }
}

// -----

// No axes without noop_with_empty_axes (an absent input, as exporters write it): every
// axis is reduced.
// CHECK-LABEL: func.func @l2_all_axes
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: arith.mulf
// CHECK: math.sqrt
// CHECK: tensor.expand_shape {{.*}} into tensor<1x1xf32>
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @l2_all_axes(%x: tensor<3x2xf32>) -> tensor<1x1xf32> {
    %none = onnx.none
    %0 = onnx.node "ReduceL2"(%x, %none) : (tensor<3x2xf32>, none) -> tensor<1x1xf32>
    return %0 : tensor<1x1xf32>
  }
}

// -----

// Bool (opset 20): max is an unsigned max on i1 (`or`) from false, min an unsigned min
// (`and`) from true.
// CHECK-LABEL: func.func @bool_max_min
// CHECK: %[[FALSE:.*]] = arith.constant false
// CHECK: linalg.fill ins(%[[FALSE]] : i1)
// CHECK: arith.maxui %{{.*}}, %{{.*}} : i1
// CHECK: %[[TRUE:.*]] = arith.constant true
// CHECK: linalg.fill ins(%[[TRUE]] : i1)
// CHECK: arith.minui %{{.*}}, %{{.*}} : i1
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  func.func @bool_max_min(%x: tensor<3x4xi1>) -> (tensor<3xi1>, tensor<3xi1>) {
    %axes = arith.constant dense<[1]> : tensor<1xi64>
    %0 = onnx.node "ReduceMax"(%x, %axes) {node_attrs = {keepdims = 0 : i64}} : (tensor<3x4xi1>, tensor<1xi64>) -> tensor<3xi1>
    %1 = onnx.node "ReduceMin"(%x, %axes) {node_attrs = {keepdims = 0 : i64}} : (tensor<3x4xi1>, tensor<1xi64>) -> tensor<3xi1>
    return %0, %1 : tensor<3xi1>, tensor<3xi1>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @attribute_at_18(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
    // expected-error @+1 {{node 'm' (ReduceMean): from opset 18, the axes are input 1, not an attribute (the model imports opset 18)}}
    %0 = onnx.node "ReduceMean"(%x) {name = "m", node_attrs = {axes = array<i64: 1>}} : (tensor<3x2xf32>) -> tensor<3x1xf32>
    return %0 : tensor<3x1xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  func.func @input_at_17(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
    %axes = arith.constant dense<[1]> : tensor<1xi64>
    // expected-error @+1 {{node 'm' (ReduceMax): before opset 18, the axes are an attribute: no axes input, no noop_with_empty_axes (the model imports opset 17)}}
    %0 = onnx.node "ReduceMax"(%x, %axes) {name = "m"} : (tensor<3x2xf32>, tensor<1xi64>) -> tensor<3x1xf32>
    return %0 : tensor<3x1xf32>
  }
}

// -----

// ReduceSum took its axes as an input from opset 13 already.
// CHECK-LABEL: func.func @sum_input_at_13
// CHECK: linalg.generic
module attributes {onnx.opset_imports = {ai.onnx = 13 : i64}} {
  func.func @sum_input_at_13(%x: tensor<3x2xf32>) -> tensor<3x1xf32> {
    %axes = arith.constant dense<[1]> : tensor<1xi64>
    %0 = onnx.node "ReduceSum"(%x, %axes) : (tensor<3x2xf32>, tensor<1xi64>) -> tensor<3x1xf32>
    return %0 : tensor<3x1xf32>
  }
}

// -----

// Axes known only at run time (a graph input, as ONNX's node tests give them): each
// dimension is reduced or not under an scf.if; ReduceL2 squares the elements first and
// takes the square roots last, ReduceMean divides by the product of the sizes reduced.
// CHECK-LABEL: func.func @runtime_axes
// CHECK: linalg.generic
// CHECK: arith.mulf
// CHECK-COUNT-2: scf.if
// CHECK: math.sqrt
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK: scf.if
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : index
// CHECK: scf.if
// CHECK: arith.divf
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @runtime_axes(%x: tensor<3x2xf32>, %axes: tensor<1xi64>) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
    %0 = onnx.node "ReduceL2"(%x, %axes) : (tensor<3x2xf32>, tensor<1xi64>) -> tensor<?x?xf32>
    %1 = onnx.node "ReduceMean"(%x, %axes) : (tensor<3x2xf32>, tensor<1xi64>) -> tensor<?x?xf32>
    return %0, %1 : tensor<?x?xf32>, tensor<?x?xf32>
  }
}

// -----

// Without keepdims, axes known only at run time drop their dimensions from a result of
// unknown sizes: result dimension j is the input's j-th dimension that no axis names, and
// the axes must be distinct.
// CHECK-LABEL: func.func @runtime_axes_drop
// CHECK-COUNT-3: scf.if
// CHECK: moe.check %{{.*}}, "node '{{.*}}' (ReduceSum): its axes are not distinct"
// CHECK: %[[SHAPE:.*]] = tensor.from_elements %{{.*}}, %{{.*}} : tensor<2xi64>
// CHECK: tensor.reshape %{{.*}}(%[[SHAPE]]) : (tensor<?x?x?xf32>, tensor<2xi64>) -> tensor<?x?xf32>
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @runtime_axes_drop(%x: tensor<3x2x4xf32>, %axes: tensor<1xi64>) -> tensor<?x?xf32> {
    %0 = onnx.node "ReduceSum"(%x, %axes) {node_attrs = {keepdims = 0 : i64}} : (tensor<3x2x4xf32>, tensor<1xi64>) -> tensor<?x?xf32>
    return %0 : tensor<?x?xf32>
  }
}
