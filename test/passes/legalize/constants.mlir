// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Initializers become arith.constant over the same resource; unsigned ones are re-typed
// signless without copying.

// CHECK-LABEL: func.func @main
// CHECK: %[[W:.*]] = arith.constant dense_resource<w> : tensor<2xi8>
// CHECK: return %[[W]] : tensor<2xi8>
func.func @main() -> tensor<2xui8> {
  %0 = onnx.constant "w" dense_resource<w> : tensor<2xui8>
  return %0 : tensor<2xui8>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x010000000102"
    }
  }
#-}
