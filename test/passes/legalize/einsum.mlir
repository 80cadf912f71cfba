// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Einsum: one linalg.generic, a loop per label; labels missing from the output reduce.

// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[Z:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[DIAG:.*]] = affine_map<(d0, d1) -> (d0, d1, d1)>
// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[VEC:.*]] = affine_map<(d0) -> (d0)>
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0) -> ()>

// CHECK-LABEL: func.func @batch_matmul
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[Y]], #[[Z]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @batch_matmul(%x: tensor<5x2x3xf64>, %y: tensor<5x3x4xf64>) -> tensor<5x2x4xf64> {
  %0 = onnx.node "Einsum"(%x, %y) {node_attrs = {equation = "bij, bjk -> bik"}} : (tensor<5x2x3xf64>, tensor<5x3x4xf64>) -> tensor<5x2x4xf64>
  return %0 : tensor<5x2x4xf64>
}

// A repeated label reads a diagonal; the ellipsis stands for the leading dimensions.
// CHECK-LABEL: func.func @batch_diagonal
// CHECK: linalg.generic {indexing_maps = [#[[DIAG]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
func.func @batch_diagonal(%x: tensor<3x5x5xf64>) -> tensor<3x5xf64> {
  %0 = onnx.node "Einsum"(%x) {node_attrs = {equation = "...ii ->...i"}} : (tensor<3x5x5xf64>) -> tensor<3x5xf64>
  return %0 : tensor<3x5xf64>
}

// Without "->", the output has the labels used once: none here.
// CHECK-LABEL: func.func @inner_product
// CHECK: linalg.generic {indexing_maps = [#[[VEC]], #[[VEC]], #[[SCALAR]]], iterator_types = ["reduction"]}
func.func @inner_product(%x: tensor<5xf64>, %y: tensor<5xf64>) -> tensor<f64> {
  %0 = onnx.node "Einsum"(%x, %y) {node_attrs = {equation = "i,i"}} : (tensor<5xf64>, tensor<5xf64>) -> tensor<f64>
  return %0 : tensor<f64>
}
