// RUN: moe-opt %s -moec-legalize-onnx -split-input-file | FileCheck %s
// LpNormalization: the sum of |x| (p 1) or x² (p 2) along `axis`, then x over the norm
// (its square root for p 2), 0 where the norm is 0.

// CHECK-LABEL: func.func @l2
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel"]} ins(%arg0 : tensor<2x3x4xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[SUM]] : tensor<2x3x4xf32>, tensor<2x4xf32>)
// CHECK: %[[NORM:.*]] = math.sqrt
// CHECK: %[[ZERO:.*]] = arith.cmpf oeq, %[[NORM]]
// CHECK: %[[Q:.*]] = arith.divf %{{.*}}, %[[NORM]]
// CHECK: arith.select %[[ZERO]], %{{.*}}, %[[Q]]
func.func @l2(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = onnx.node "LpNormalization"(%x) {node_attrs = {axis = 1 : i64}} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// p 1 takes no square root; float16 is normalized in float32 and narrowed back.
// CHECK-LABEL: func.func @l1_f16
// CHECK: arith.extf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// CHECK: math.absf
// CHECK-NOT: math.sqrt
// CHECK: arith.divf
// CHECK: arith.truncf {{.*}} : f32 to f16
func.func @l1_f16(%x: tensor<?x8xf16>) -> tensor<?x8xf16> {
  %0 = onnx.node "LpNormalization"(%x) {node_attrs = {p = 1 : i64}} : (tensor<?x8xf16>) -> tensor<?x8xf16>
  return %0 : tensor<?x8xf16>
}
