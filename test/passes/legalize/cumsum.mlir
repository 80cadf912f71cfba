// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// CumSum: out[i] sums the x[j] with j before i along the axis (after, in reverse; i itself
// unless exclusive).

// CHECK-DAG: #[[SOURCE:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[TARGET:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @reverse_exclusive
// CHECK: linalg.generic {indexing_maps = [#[[SOURCE]], #[[TARGET]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: %[[I:.*]] = linalg.index 1
// CHECK: %[[J:.*]] = linalg.index 2
// CHECK: arith.cmpi ugt, %[[J]], %[[I]]
func.func @reverse_exclusive(%x: tensor<2x3xf64>) -> tensor<2x3xf64> {
  %axis = arith.constant dense<-1> : tensor<i32>
  %0 = onnx.node "CumSum"(%x, %axis) {node_attrs = {exclusive = 1 : i64, reverse = 1 : i64}} : (tensor<2x3xf64>, tensor<i32>) -> tensor<2x3xf64>
  return %0 : tensor<2x3xf64>
}

// An axis known at run time: the input is reshaped to [before, axis, after] and summed
// along the middle.
// CHECK-LABEL: func.func @runtime_axis
// CHECK: moe.check %{{.*}}, "node '<unnamed>' (CumSum): axis {0} is out of range for rank 2"
// CHECK: %[[GROUPED:.*]] = tensor.reshape %arg0(%{{.*}}) : (tensor<2x3xf64>, tensor<3xi64>) -> tensor<?x?x?xf64>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[GROUPED]] : tensor<?x?x?xf64>)
// CHECK: arith.cmpi ule
// CHECK: tensor.reshape %[[SUM]](%{{.*}}) : (tensor<?x?x?xf64>, tensor<2xi64>) -> tensor<2x3xf64>
func.func @runtime_axis(%x: tensor<2x3xf64>, %axis: tensor<i32>) -> tensor<2x3xf64> {
  %0 = onnx.node "CumSum"(%x, %axis) : (tensor<2x3xf64>, tensor<i32>) -> tensor<2x3xf64>
  return %0 : tensor<2x3xf64>
}

// CumProd (26): CumSum's loops, multiplying from 1.
// CHECK-LABEL: func.func @cumprod_exclusive
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ONE]]
// CHECK: arith.cmpi ult
// CHECK: arith.select %{{.*}}, %{{.*}}, %[[ONE]]
// CHECK: arith.mulf
func.func @cumprod_exclusive(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %axis = arith.constant dense<1> : tensor<i64>
  %0 = onnx.node "CumProd"(%x, %axis) {node_attrs = {exclusive = 1 : i64}} : (tensor<2x3xf32>, tensor<i64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
