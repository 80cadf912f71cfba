// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// LayerNormalization over the dimensions from `axis` on: mean, variance of the centered
// input, 1 / sqrt(variance + epsilon); Scale and B broadcast against the normalized input.
// Mean is returned with the normalized dimensions as size 1; an omitted InvStdDev costs
// nothing.

// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]} ins(%arg0 : tensor<2x3x4xf32>)
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<2xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.divf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]} ins(%arg0, %[[MEAN]] : tensor<2x3x4xf32>, tensor<2xf32>)
// CHECK: arith.mulf
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: math.sqrt
// CHECK: %[[NORM:.*]] = linalg.generic {{.*}} ins(%arg0, %[[MEAN]], %{{.*}} : tensor<2x3x4xf32>, tensor<2xf32>, tensor<2xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[NORM]], %arg1, %arg2 : tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<4xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[M:.*]] = tensor.expand_shape %[[MEAN]] {{\[\[}}0, 1, 2]] output_shape [2, 1, 1]
// CHECK: return %[[Y]], %[[M]]
func.func @layer_norm(%x: tensor<2x3x4xf32>, %s: tensor<3x4xf32>, %b: tensor<4xf32>) -> (tensor<2x3x4xf32>, tensor<2x1x1xf32>) {
  %0:3 = onnx.node "LayerNormalization"(%x, %s, %b) {node_attrs = {axis = 1 : i64, epsilon = 0.5 : f32}} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> (tensor<2x3x4xf32>, tensor<2x1x1xf32>, none)
  return %0#0, %0#1 : tensor<2x3x4xf32>, tensor<2x1x1xf32>
}
