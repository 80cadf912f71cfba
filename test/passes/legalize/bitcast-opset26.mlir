// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// BitCast (26): the same bits as another type of one width. A bool (one byte in ONNX)
// widens to an 8-bit integer, and a byte is true when not zero; integers of one width are
// the same signless value.

// CHECK-LABEL: func.func @float_to_int
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK-LABEL: func.func @bool_to_byte
// CHECK: arith.extui %{{.*}} : i1 to i8
// CHECK-LABEL: func.func @byte_to_bool
// CHECK: arith.cmpi ne
// CHECK-LABEL: func.func @unsigned_to_signed
// CHECK: ^bb0(%[[IN:.*]]: i16,
// CHECK-NEXT: linalg.yield %[[IN]]
module attributes {onnx.opset_imports = {ai.onnx = 26 : i64}} {
  func.func @float_to_int(%x: tensor<4xf32>) -> tensor<4xi32> {
    %0 = onnx.node "BitCast"(%x) {node_attrs = {to = 6 : i64}} : (tensor<4xf32>) -> tensor<4xi32>
    return %0 : tensor<4xi32>
  }
  func.func @bool_to_byte(%x: tensor<4xi1>) -> tensor<4xui8> {
    %0 = onnx.node "BitCast"(%x) {node_attrs = {to = 2 : i64}} : (tensor<4xi1>) -> tensor<4xui8>
    return %0 : tensor<4xui8>
  }
  func.func @byte_to_bool(%x: tensor<4xi8>) -> tensor<4xi1> {
    %0 = onnx.node "BitCast"(%x) {node_attrs = {to = 9 : i64}} : (tensor<4xi8>) -> tensor<4xi1>
    return %0 : tensor<4xi1>
  }
  func.func @unsigned_to_signed(%x: tensor<4xui16>) -> tensor<4xi16> {
    %0 = onnx.node "BitCast"(%x) {node_attrs = {to = 5 : i64}} : (tensor<4xui16>) -> tensor<4xi16>
    return %0 : tensor<4xi16>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 26 : i64}} {
  func.func @widths_differ(%x: tensor<4xf32>) -> tensor<4xi64> {
    // expected-error @+1 {{node 'b' (BitCast): bitcasts between types of one width of 8 bits or more (16 for floats) are supported (f32 to i64)}}
    %0 = onnx.node "BitCast"(%x) {name = "b", node_attrs = {to = 7 : i64}} : (tensor<4xf32>) -> tensor<4xi64>
    return %0 : tensor<4xi64>
  }
}
