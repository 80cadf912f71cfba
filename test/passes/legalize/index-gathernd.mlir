// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// GatherND with batch_dims 1: the batch coordinate indexes data directly, then one index
// tuple element per indexed data dimension.

// CHECK-LABEL: func.func @gathernd
// CHECK: tensor.empty() : tensor<2x4xf32>
// CHECK: linalg.generic
// CHECK: %[[B:.*]] = linalg.index 0
// CHECK: %[[K:.*]] = linalg.index 1
// CHECK: tensor.extract %arg1[%[[B]], %{{c0.*}}] : tensor<2x1xi64>
// CHECK: %[[ROW:.*]] = arith.select
// CHECK: tensor.extract %arg0[%[[B]], %[[ROW]], %[[K]]] : tensor<2x3x4xf32>
func.func @gathernd(%data: tensor<2x3x4xf32>, %indices: tensor<2x1xi64>) -> tensor<2x4xf32> {
  %0 = onnx.node "GatherND"(%data, %indices) {name = "gnd", node_attrs = {batch_dims = 1 : i64}} : (tensor<2x3x4xf32>, tensor<2x1xi64>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// The ranks give the index tuple length, so the last dimension of indices may be dynamic.
// CHECK-LABEL: func.func @gathernd_dynamic_tuple
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 0
// CHECK: tensor.extract %arg1[%[[I]], %c0{{.*}}] : tensor<?x?xi64>
// CHECK: %[[ROW:.*]] = arith.select
// CHECK: tensor.extract %arg1[%[[I]], %c1{{.*}}] : tensor<?x?xi64>
// CHECK: %[[COL:.*]] = arith.select
// CHECK: tensor.extract %arg0[%[[ROW]], %[[COL]]] : tensor<4x4xf32>
func.func @gathernd_dynamic_tuple(%data: tensor<4x4xf32>, %indices: tensor<?x?xi64>) -> tensor<?xf32> {
  %0 = onnx.node "GatherND"(%data, %indices) {name = "gnd"} : (tensor<4x4xf32>, tensor<?x?xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
