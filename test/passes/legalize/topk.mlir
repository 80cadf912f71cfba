// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// TopK ranks every element along the axis (how many come before it: better, or equal at a
// lower position), then output p gathers the element of rank p; k may be known at run
// time only.

// CHECK-DAG: #[[OUTER:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[EXTRA:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @top_k
// CHECK: %[[K64:.*]] = tensor.extract %arg1
// CHECK: %[[K:.*]] = arith.index_cast %[[K64]] : i64 to index
// CHECK: %[[RANKS:.*]] = linalg.generic {indexing_maps = [#[[OUTER]], #[[EXTRA]], #[[OUTER]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %arg0 : tensor<3x4xf32>, tensor<3x4xf32>)
// CHECK: arith.cmpi ult
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: tensor.empty(%[[K]]) : tensor<3x?xf32>
// CHECK: tensor.empty(%[[K]]) : tensor<3x?xi64>
// CHECK: %[[OUT:.*]]:2 = linalg.generic {indexing_maps = [#[[EXTRA]], #[[EXTRA]], #[[OUTER]], #[[OUTER]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%arg0, %[[RANKS]] : tensor<3x4xf32>, tensor<3x4xi64>)
// CHECK: return %[[OUT]]#0, %[[OUT]]#1
func.func @top_k(%x: tensor<3x4xf32>, %k: tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>) {
  %0:2 = onnx.node "TopK"(%x, %k) {node_attrs = {axis = 1 : i64}} : (tensor<3x4xf32>, tensor<1xi64>) -> (tensor<3x?xf32>, tensor<3x?xi64>)
  return %0#0, %0#1 : tensor<3x?xf32>, tensor<3x?xi64>
}

// The smallest first: an element comes before another when less.
// CHECK-LABEL: func.func @top_k_smallest
// CHECK: arith.cmpf olt
func.func @top_k_smallest(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xi64>) {
  %k = arith.constant dense<2> : tensor<1xi64>
  %0:2 = onnx.node "TopK"(%x, %k) {node_attrs = {largest = 0 : i64}} : (tensor<3x4xf32>, tensor<1xi64>) -> (tensor<3x2xf32>, tensor<3x2xi64>)
  return %0#0, %0#1 : tensor<3x2xf32>, tensor<3x2xi64>
}
