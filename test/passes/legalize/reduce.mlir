// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Reduce*: one linalg.generic whose reduced dimensions are reduction loops and whose
// result drops them; keepdims puts them back as size 1 with tensor.expand_shape.

// CHECK-DAG: #[[ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[KEEP02:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[KEEP0:.*]] = affine_map<(d0, d1, d2) -> (d0)>

// Axes from a constant input (opset 13), negative, over a dynamic dimension.
// CHECK-LABEL: func.func @sum_axes_input
// CHECK: %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3x4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[KEEP02]]], iterator_types = ["parallel", "reduction", "parallel"]} ins(%arg0 : tensor<3x?x4xf32>) outs(%[[INIT]] : tensor<3x4xf32>)
// CHECK: arith.addf
// CHECK: tensor.expand_shape %[[SUM]] {{\[\[}}0, 1], [2]] output_shape [3, 1, 4] : tensor<3x4xf32> into tensor<3x1x4xf32>
func.func @sum_axes_input(%x: tensor<3x?x4xf32>) -> tensor<3x1x4xf32> {
  %axes = arith.constant dense<[-2]> : tensor<1xi64>
  %0 = onnx.node "ReduceSum"(%x, %axes) : (tensor<3x?x4xf32>, tensor<1xi64>) -> tensor<3x1x4xf32>
  return %0 : tensor<3x1x4xf32>
}

// Axes from the attribute (before opset 18), without keepdims: the sum divided by the
// number of elements reduced.
// CHECK-LABEL: func.func @mean_axes_attribute
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID3]], #[[KEEP0]]], iterator_types = ["parallel", "reduction", "reduction"]}
// CHECK: %[[COUNT:.*]] = arith.sitofp %{{.*}} : i64 to f32
// CHECK: linalg.generic {{.*}} ins(%[[SUM]] : tensor<3xf32>)
// CHECK: arith.divf %{{.*}}, %[[COUNT]] : f32
// CHECK-NOT: tensor.expand_shape
func.func @mean_axes_attribute(%x: tensor<3x2x4xf32>) -> tensor<3xf32> {
  %0 = onnx.node "ReduceMean"(%x) {node_attrs = {axes = array<i64: 1, 2>, keepdims = 0 : i64}} : (tensor<3x2x4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// Empty axes with noop_with_empty_axes: the input itself.
// CHECK-LABEL: func.func @noop_with_empty_axes
// CHECK-NEXT: return %arg0
func.func @noop_with_empty_axes(%x: tensor<3x2xf32>, %axes: tensor<0xi64>) -> tensor<3x2xf32> {
  %0 = onnx.node "ReduceSum"(%x, %axes) {node_attrs = {noop_with_empty_axes = 1 : i64}} : (tensor<3x2xf32>, tensor<0xi64>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// Axes known at run time: each dimension reduced or not under an scf.if; the result
// without keepdims is a reshape to the static result shape.
// CHECK-LABEL: func.func @sum_runtime_axes
// CHECK: moe.check %{{.*}}, "node '<unnamed>' (ReduceSum): axis {0} is out of range for rank 3"
// CHECK: scf.if %{{.*}} -> (tensor<?x2x4xf32>)
// CHECK: scf.if %{{.*}} -> (tensor<?x?x4xf32>)
// CHECK: %[[ALL:.*]] = scf.if %{{.*}} -> (tensor<?x?x?xf32>)
// CHECK: %[[SHAPE:.*]] = arith.constant dense<[3, 4]> : tensor<2xi64>
// CHECK: tensor.reshape %[[ALL]](%[[SHAPE]]) : (tensor<?x?x?xf32>, tensor<2xi64>) -> tensor<3x4xf32>
func.func @sum_runtime_axes(%x: tensor<3x2x4xf32>, %axes: tensor<1xi64>) -> tensor<3x4xf32> {
  %0 = onnx.node "ReduceSum"(%x, %axes) {node_attrs = {keepdims = 0 : i64}} : (tensor<3x2x4xf32>, tensor<1xi64>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// LogSumExp subtracts the maximum before exponentiating, and adds it back after the log.
// CHECK-LABEL: func.func @log_sum_exp
// CHECK: %[[MAX:.*]] = linalg.generic
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%arg0, %[[MAX]] : tensor<3x2xf64>, tensor<f64>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}} ins(%[[SUM]], %[[MAX]] : tensor<f64>, tensor<f64>)
// CHECK: math.log
// CHECK: arith.addf
// CHECK: tensor.expand_shape %{{.*}} [] output_shape [1, 1] : tensor<f64> into tensor<1x1xf64>
func.func @log_sum_exp(%x: tensor<3x2xf64>) -> tensor<1x1xf64> {
  %0 = onnx.node "ReduceLogSumExp"(%x) : (tensor<3x2xf64>) -> tensor<1x1xf64>
  return %0 : tensor<1x1xf64>
}

// Integer max starts from the type's least value; unsigned inputs compare unsigned.
// CHECK-LABEL: func.func @max_unsigned
// CHECK: arith.constant 0 : i8
// CHECK: arith.maxui
func.func @max_unsigned(%x: tensor<3x2xui8>) -> tensor<3xui8> {
  %0 = onnx.node "ReduceMax"(%x) {node_attrs = {axes = array<i64: 1>, keepdims = 0 : i64}} : (tensor<3x2xui8>) -> tensor<3xui8>
  return %0 : tensor<3xui8>
}

// The host lowering has no math.absi: an integer |x| is a select.
// CHECK-LABEL: func.func @l1_integer
// CHECK: arith.cmpi slt
// CHECK: arith.subi
// CHECK: arith.select
// CHECK: arith.addi
func.func @l1_integer(%x: tensor<3x2xi32>) -> tensor<3x1xi32> {
  %0 = onnx.node "ReduceL1"(%x) {node_attrs = {axes = array<i64: 1>}} : (tensor<3x2xi32>) -> tensor<3x1xi32>
  return %0 : tensor<3x1xi32>
}
