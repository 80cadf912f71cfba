// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Weights become arith.constant over the same resource (unsigned ones re-typed signless,
// never copied); small constants become dense elements that folders can see through.

// CHECK-LABEL: func.func @weights
// CHECK: %[[W:.*]] = arith.constant dense_resource<w> : tensor<32xi8>
// CHECK: return %[[W]] : tensor<32xi8>
func.func @weights() -> tensor<32xui8> {
  %0 = onnx.constant "w" dense_resource<w> : tensor<32xui8>
  return %0 : tensor<32xui8>
}

// CHECK-LABEL: func.func @scalar
// CHECK: arith.constant dense<2.000000e+00> : tensor<f32>
func.func @scalar() -> tensor<f32> {
  %0 = onnx.constant "two" dense_resource<two> : tensor<f32>
  return %0 : tensor<f32>
}

// CHECK-LABEL: func.func @bools
// CHECK: arith.constant dense<[true, false, true]> : tensor<3xi1>
func.func @bools() -> tensor<3xi1> {
  %0 = onnx.constant "mask" dense_resource<mask> : tensor<3xi1>
  return %0 : tensor<3xi1>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x01000000000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
      two: "0x0400000000000040",
      mask: "0x01000000010001"
    }
  }
#-}
