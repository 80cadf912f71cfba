// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// Cast and CastLike from opset 19: `saturate` (opset 19) says how values out of an 8-bit
// float's range convert, and means nothing for other types: it is ignored there. Casts from
// or to the 8-bit floats (19) and 4-bit integers (21) are refused.

// CHECK-LABEL: func.func @saturate_ignored
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.fptosi %{{.*}} : f32 to i8
module attributes {onnx.opset_imports = {ai.onnx = 19 : i64}} {
  func.func @saturate_ignored(%x: tensor<4xf32>, %like: tensor<1xi8>) -> (tensor<4xf16>, tensor<4xi8>) {
    %0 = onnx.node "Cast"(%x) {node_attrs = {saturate = 0 : i64, to = 10 : i64}} : (tensor<4xf32>) -> tensor<4xf16>
    %1 = onnx.node "CastLike"(%x, %like) {node_attrs = {saturate = 1 : i64}} : (tensor<4xf32>, tensor<1xi8>) -> tensor<4xi8>
    return %0, %1 : tensor<4xf16>, tensor<4xi8>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 19 : i64}} {
  func.func @to_float8(%x: tensor<4xf32>) -> tensor<4xf8E4M3FN> {
    // expected-error @+1 {{node 'c' (Cast): casts from or to floats of 8 bits or fewer and integers of 2 or 4 bits are not supported yet (f32 to f8E4M3FN)}}
    %0 = onnx.node "Cast"(%x) {name = "c", node_attrs = {to = 17 : i64}} : (tensor<4xf32>) -> tensor<4xf8E4M3FN>
    return %0 : tensor<4xf8E4M3FN>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 21 : i64}} {
  func.func @from_int4(%x: tensor<4xi4>, %like: tensor<1xf32>) -> tensor<4xf32> {
    // expected-error @+1 {{node 'c' (CastLike): casts from or to floats of 8 bits or fewer and integers of 2 or 4 bits are not supported yet (i4 to f32)}}
    %0 = onnx.node "CastLike"(%x, %like) {name = "c"} : (tensor<4xi4>, tensor<1xf32>) -> tensor<4xf32>
    return %0 : tensor<4xf32>
  }
}

// -----

// CastLike's second input gives the element type only, whatever its shape.
// CHECK-LABEL: func.func @cast_like_scalar
// CHECK: linalg.generic {{.*}} ins(%arg0 : tensor<f32>) outs(%{{.*}} : tensor<f16>)
// CHECK: arith.truncf
module attributes {onnx.opset_imports = {ai.onnx = 19 : i64}} {
  func.func @cast_like_scalar(%x: tensor<f32>, %like: tensor<3x4xf16>) -> tensor<f16> {
    %0 = onnx.node "CastLike"(%x, %like) : (tensor<f32>, tensor<3x4xf16>) -> tensor<f16>
    return %0 : tensor<f16>
  }
}
