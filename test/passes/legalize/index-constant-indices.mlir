// RUN: moe-opt %s -moec-legalize-onnx -canonicalize | FileCheck %s
// Small constant indices are re-materialized as dense constants, whose reads fold: here
// the scalar index disappears into the gather's body as a constant.

// CHECK-LABEL: func.func @main
// CHECK-NOT: dense_resource
// CHECK: %[[LAST:.*]] = arith.constant 3 : index
// CHECK: linalg.generic
// CHECK: %[[J:.*]] = linalg.index 0
// CHECK: tensor.extract %arg0[%[[LAST]], %[[J]]] : tensor<4x8xf32>
func.func @main(%data: tensor<4x8xf32>) -> tensor<8xf32> {
  %index = onnx.constant "index" dense_resource<index> : tensor<i64>
  %0 = onnx.node "Gather"(%data, %index) {name = "gather"} : (tensor<4x8xf32>, tensor<i64>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}

{-#
  dialect_resources: {
    builtin: {
      index: "0x08000000FFFFFFFFFFFFFFFF"
    }
  }
#-}
