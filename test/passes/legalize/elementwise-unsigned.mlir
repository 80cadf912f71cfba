// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Unsigned tensors become signless; the operation keeps the signedness.

// CHECK-LABEL: func.func @div
// CHECK-SAME: (%arg0: tensor<4xi8> {onnx.name = "a"}, %arg1: tensor<4xi8>) -> tensor<4xi8>
// CHECK: arith.divui
// CHECK-LABEL: func.func @less
// CHECK: arith.cmpi ult
// CHECK-LABEL: func.func @signed_less
// CHECK: arith.cmpi slt
func.func @div(%a: tensor<4xui8> {onnx.name = "a"}, %b: tensor<4xui8>) -> tensor<4xui8> {
  %0 = onnx.node "Div"(%a, %b) : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
}
func.func @less(%a: tensor<4xui16>, %b: tensor<4xui16>) -> tensor<4xi1> {
  %0 = onnx.node "Less"(%a, %b) : (tensor<4xui16>, tensor<4xui16>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}
func.func @signed_less(%a: tensor<4xi16>, %b: tensor<4xi16>) -> tensor<4xi1> {
  %0 = onnx.node "Less"(%a, %b) : (tensor<4xi16>, tensor<4xi16>) -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// Integer Abs: select on the sign (math.absi has no LLVM lowering); unsigned is the identity.
// CHECK-LABEL: func.func @abs_signed
// CHECK: %[[NEG:.*]] = arith.cmpi slt
// CHECK: %[[MINUS:.*]] = arith.subi
// CHECK: arith.select %[[NEG]], %[[MINUS]]
// CHECK-LABEL: func.func @abs_unsigned
// CHECK-NOT: arith.select
// CHECK: linalg.yield %in
func.func @abs_signed(%a: tensor<4xi32>) -> tensor<4xi32> {
  %0 = onnx.node "Abs"(%a) : (tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}
func.func @abs_unsigned(%a: tensor<4xui32>) -> tensor<4xui32> {
  %0 = onnx.node "Abs"(%a) : (tensor<4xui32>) -> tensor<4xui32>
  return %0 : tensor<4xui32>
}
