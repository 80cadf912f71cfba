// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// GatherElements replaces the axis coordinate of each result position by the index there.

// CHECK-LABEL: func.func @gather_elements
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 0
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: %[[IDX:.*]] = tensor.extract %arg1[%[[I]], %[[J]]] : tensor<4x2xi32>
// CHECK: arith.index_cast %[[IDX]] : i32 to index
// CHECK: %[[COL:.*]] = arith.select
// CHECK: tensor.extract %arg0[%[[I]], %[[COL]]] : tensor<4x8xf32>
func.func @gather_elements(%data: tensor<4x8xf32>, %indices: tensor<4x2xi32>) -> tensor<4x2xf32> {
  %0 = onnx.node "GatherElements"(%data, %indices) {name = "ge", node_attrs = {axis = -1 : i64}} : (tensor<4x8xf32>, tensor<4x2xi32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}
