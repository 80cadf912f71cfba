// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// ScatterND with reduction mul: each update element lands at its index tuple followed by
// its trailing coordinates.

// CHECK-LABEL: func.func @scatternd_mul
// CHECK: %[[COPY:.*]] = linalg.copy ins(%arg0 : tensor<4x4xf32>)
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%{{.*}} = %[[COPY]]) -> (tensor<4x4xf32>)
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<4x4xf32>)
// CHECK: tensor.extract %arg1[%[[I]], %c0{{.*}}] : tensor<2x1xi64>
// CHECK: %[[ROW:.*]] = arith.select
// CHECK: %[[UPDATE:.*]] = tensor.extract %arg2[%[[I]], %[[J]]]
// CHECK: %[[OLD:.*]] = tensor.extract %[[ACC]][%[[ROW]], %[[J]]]
// CHECK: %[[PRODUCT:.*]] = arith.mulf %[[OLD]], %[[UPDATE]]
// CHECK: tensor.insert %[[PRODUCT]] into %[[ACC]][%[[ROW]], %[[J]]]
func.func @scatternd_mul(%data: tensor<4x4xf32>, %indices: tensor<2x1xi64>, %updates: tensor<2x4xf32>) -> tensor<4x4xf32> {
  %0 = onnx.node "ScatterND"(%data, %indices, %updates) {name = "snd", node_attrs = {reduction = "mul"}} : (tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}
