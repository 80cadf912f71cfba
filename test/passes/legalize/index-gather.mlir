// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Gather reads data through the indices in one linalg.generic over the result, sizing
// the result from data and indices at run time; a negative index counts from the end.

// CHECK-LABEL: func.func @gather
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[M:.*]] = tensor.dim %arg1, %c0
// CHECK: tensor.empty(%[[M]]) : tensor<?x8xf32>
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 0
// CHECK: %[[J:.*]] = linalg.index 1
// CHECK: %[[IDX:.*]] = tensor.extract %arg1[%[[I]]]
// CHECK: %[[CAST:.*]] = arith.index_cast %[[IDX]] : i64 to index
// CHECK: %[[NEG:.*]] = arith.cmpi slt, %[[CAST]], %c0
// CHECK: %[[WRAPPED:.*]] = arith.addi %[[CAST]], %[[N]]
// CHECK: %[[ROW:.*]] = arith.select %[[NEG]], %[[WRAPPED]], %[[CAST]]
// CHECK: tensor.extract %arg0[%[[ROW]], %[[J]]]
func.func @gather(%data: tensor<?x8xf32>, %indices: tensor<?xi64>) -> tensor<?x8xf32> {
  %0 = onnx.node "Gather"(%data, %indices) {name = "gather", node_attrs = {axis = 0 : i64}} : (tensor<?x8xf32>, tensor<?xi64>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
