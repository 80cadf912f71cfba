// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s

// The indexing maps of the contractions below (printed first).
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3) -> (0, d3, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[VLHS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[VRHS:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-DAG: #[[VOUT:.*]] = affine_map<(d0, d1) -> (d0)>

// Activations times a 2-D weight: leading dimensions fold into one 2-D GEMM.
// CHECK-LABEL: func.func @activations_times_weight
// CHECK: %[[A:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<?x5x16xf32> into tensor<?x16xf32>
// CHECK: %[[P:.*]] = linalg.matmul ins(%[[A]], %arg1 : tensor<?x16xf32>, tensor<16x8xf32>)
// CHECK: tensor.expand_shape %[[P]] {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, 5, 8] : tensor<?x8xf32> into tensor<?x5x8xf32>
func.func @activations_times_weight(%x: tensor<?x5x16xf32>, %w: tensor<16x8xf32>) -> tensor<?x5x8xf32> {
  %0 = onnx.node "MatMul"(%x, %w) : (tensor<?x5x16xf32>, tensor<16x8xf32>) -> tensor<?x5x8xf32>
  return %0 : tensor<?x5x8xf32>
}

// Batched operands broadcast their batch dimensions in one contraction.
// CHECK-LABEL: func.func @batched
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
func.func @batched(%a: tensor<4x3x16xf32>, %b: tensor<1x16x8xf32>) -> tensor<4x3x8xf32> {
  %0 = onnx.node "MatMul"(%a, %b) : (tensor<4x3x16xf32>, tensor<1x16x8xf32>) -> tensor<4x3x8xf32>
  return %0 : tensor<4x3x8xf32>
}

// A 1-D operand is a vector: its dimension is not in the result.
// CHECK-LABEL: func.func @vector_times_matrix
// CHECK: linalg.generic {indexing_maps = [#[[VLHS]], #[[VRHS]], #[[VOUT]]], iterator_types = ["parallel", "reduction"]}
func.func @vector_times_matrix(%a: tensor<16xf32>, %b: tensor<16x8xf32>) -> tensor<8xf32> {
  %0 = onnx.node "MatMul"(%a, %b) : (tensor<16xf32>, tensor<16x8xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

// Two vectors: a dot product, a scalar result reducing over the one loop.
// CHECK-LABEL: func.func @dot
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["reduction"]}
// CHECK-SAME: outs(%{{.*}} : tensor<f32>)
func.func @dot(%a: tensor<?xf32>, %b: tensor<2xf32>) -> tensor<f32> {
  %0 = onnx.node "MatMul"(%a, %b) : (tensor<?xf32>, tensor<2xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
