// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Operands of the same static batch dims (attention's [B, N, S, H]) fold them into one
// batch dim: one batched contraction, which the 16-bit kernels take.

// CHECK-LABEL: func.func @two_batch_dims
// CHECK: %[[A:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2], [3]] : tensor<2x3x4x8xf16> into tensor<6x4x8xf16>
// CHECK: %[[B:.*]] = tensor.collapse_shape %arg1 {{\[\[}}0, 1], [2], [3]] : tensor<2x3x8x5xf16> into tensor<6x8x5xf16>
// CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[A]], %[[B]] : tensor<6x4x8xf16>, tensor<6x8x5xf16>)
// CHECK: tensor.expand_shape %[[P]] {{\[\[}}0, 1], [2], [3]] output_shape [2, 3, 4, 5] : tensor<6x4x5xf16> into tensor<2x3x4x5xf16>
func.func @two_batch_dims(%a: tensor<2x3x4x8xf16>, %b: tensor<2x3x8x5xf16>) -> tensor<2x3x4x5xf16> {
  %0 = onnx.node "MatMul"(%a, %b) : (tensor<2x3x4x8xf16>, tensor<2x3x8x5xf16>) -> tensor<2x3x4x5xf16>
  return %0 : tensor<2x3x4x5xf16>
}

// Batch dims that broadcast stay one contraction over all of them.
// CHECK-LABEL: func.func @broadcast_batch_dims
// CHECK-NOT: tensor.collapse_shape
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
func.func @broadcast_batch_dims(%a: tensor<2x3x4x8xf32>, %b: tensor<1x3x8x5xf32>) -> tensor<2x3x4x5xf32> {
  %0 = onnx.node "MatMul"(%a, %b) : (tensor<2x3x4x8xf32>, tensor<1x3x8x5xf32>) -> tensor<2x3x4x5xf32>
  return %0 : tensor<2x3x4x5xf32>
}
