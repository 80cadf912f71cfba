// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// Cast from opset 24: `round_mode` says how values round to float8e8m0 (24) and means
// nothing for other types: it is ignored there. Casts from or to float8e8m0 (24) and the
// 2-bit integers (25) are refused.

// CHECK-LABEL: func.func @round_mode_ignored
// CHECK: arith.truncf %{{.*}} : f32 to f16
module attributes {onnx.opset_imports = {ai.onnx = 24 : i64}} {
  func.func @round_mode_ignored(%x: tensor<4xf32>) -> tensor<4xf16> {
    %0 = onnx.node "Cast"(%x) {node_attrs = {round_mode = "nearest", to = 10 : i64}} : (tensor<4xf32>) -> tensor<4xf16>
    return %0 : tensor<4xf16>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 24 : i64}} {
  func.func @to_float8e8m0(%x: tensor<4xf32>) -> tensor<4xf8E8M0FNU> {
    // expected-error @+1 {{node 'c' (Cast): casts from or to floats of 8 bits or fewer and integers of 2 or 4 bits are not supported yet (f32 to f8E8M0FNU)}}
    %0 = onnx.node "Cast"(%x) {name = "c", node_attrs = {to = 24 : i64}} : (tensor<4xf32>) -> tensor<4xf8E8M0FNU>
    return %0 : tensor<4xf8E8M0FNU>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 25 : i64}} {
  func.func @from_int2(%x: tensor<4xi2>) -> tensor<4xf32> {
    // expected-error @+1 {{node 'c' (Cast): casts from or to floats of 8 bits or fewer and integers of 2 or 4 bits are not supported yet (i2 to f32)}}
    %0 = onnx.node "Cast"(%x) {name = "c", node_attrs = {to = 1 : i64}} : (tensor<4xi2>) -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}
