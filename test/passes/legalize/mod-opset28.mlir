// RUN: moe-opt %s -moec-legalize-onnx -split-input-file | FileCheck %s
// Mod of floats: fmod 1 is C's fmod, the dividend's sign; fmod 0 (floats from opset 28) is
// a - floor(a / b) · b, the divisor's sign: a nonzero remainder of the other sign moves by
// the divisor, a zero one takes the divisor's sign.

// CHECK-LABEL: func.func @floor_mod
// CHECK: linalg.generic
// CHECK: %[[REM:.*]] = arith.remf %[[A:.*]], %[[B:.*]] : f32
// CHECK: %[[NEG:.*]] = arith.cmpf olt, %[[REM]], %{{.*}} : f32
// CHECK: %[[BNEG:.*]] = arith.cmpf olt, %[[B]], %{{.*}} : f32
// CHECK: %[[NONZERO:.*]] = arith.cmpf une, %[[REM]], %{{.*}} : f32
// CHECK: %[[DIFFER:.*]] = arith.xori %[[NEG]], %[[BNEG]] : i1
// CHECK: %[[ADJUST:.*]] = arith.andi %[[DIFFER]], %[[NONZERO]] : i1
// CHECK: %[[NEGZERO:.*]] = arith.negf %[[POSZERO:.*]] : f32
// CHECK: %[[ZERO:.*]] = arith.select %[[BNEG]], %[[NEGZERO]], %[[POSZERO]] : f32
// CHECK: %[[MOVED:.*]] = arith.addf %[[REM]], %[[B]] : f32
// CHECK: %[[KEPT:.*]] = arith.select %[[NONZERO]], %[[REM]], %[[ZERO]] : f32
// CHECK: arith.select %[[ADJUST]], %[[MOVED]], %[[KEPT]] : f32
module attributes {onnx.opset_imports = {ai.onnx = 28 : i64}} {
  func.func @floor_mod(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
    %0 = onnx.node "Mod"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}

// -----

// CHECK-LABEL: func.func @fmod
// CHECK: linalg.generic
// CHECK: %[[REM:.*]] = arith.remf
// CHECK-NEXT: linalg.yield %[[REM]] : f32
module attributes {onnx.opset_imports = {ai.onnx = 28 : i64}} {
  func.func @fmod(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
    %0 = onnx.node "Mod"(%a, %b) {node_attrs = {fmod = 1 : i64}} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}
