// RUN: moe-opt %s -moec-infer-types | FileCheck %s
// MatMul (numpy: 1-D promotion, broadcast batch dims), Gemm's transposes, Einsum's
// explicit and implicit outputs.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @contractions
  func.func @contractions(%a: tensor<?x4x16xf32>, %w: tensor<8x16x32xf32>, %v: tensor<16xf32>, %m: tensor<16x4xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    // CHECK: "MatMul"{{.*}} -> tensor<8x4x32xf32>
    %b = onnx.node "MatMul"(%a, %w) : (tensor<?x4x16xf32>, tensor<8x16x32xf32>) -> !onnx.any
    // CHECK: "MatMul"{{.*}} -> tensor<?x4xf32>
    %c = onnx.node "MatMul"(%a, %v) : (tensor<?x4x16xf32>, tensor<16xf32>) -> !onnx.any
    // CHECK: "Gemm"{{.*}} -> tensor<4x4xf32>
    %g = onnx.node "Gemm"(%m, %m) {node_attrs = {transA = 1 : i64}} : (tensor<16x4xf32>, tensor<16x4xf32>) -> !onnx.any
    // CHECK: "Einsum"{{.*}} -> tensor<8x?x4x32xf32>
    %e = onnx.node "Einsum"(%a, %w) {node_attrs = {equation = "bti,eio->ebto"}} : (tensor<?x4x16xf32>, tensor<8x16x32xf32>) -> !onnx.any
    // CHECK: "Einsum"{{.*}} -> tensor<4x4xf32>
    %i = onnx.node "Einsum"(%m, %m) {node_attrs = {equation = "ij,ik"}} : (tensor<16x4xf32>, tensor<16x4xf32>) -> !onnx.any
    // CHECK: "Einsum"{{.*}} -> tensor<?x4xf32>
    %d = onnx.node "Einsum"(%a) {node_attrs = {equation = "...i->..."}} : (tensor<?x4x16xf32>) -> !onnx.any
    return %b, %c, %g, %e, %i, %d : !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}
