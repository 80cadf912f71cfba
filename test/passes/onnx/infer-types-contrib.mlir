// RUN: moe-opt %s -moec-infer-types | FileCheck %s
// onnxruntime's contrib ops around MoE layers (com.microsoft), and its
// SimplifiedLayerNormalization, which it registers in the default domain.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @contrib
  func.func @contrib(%x: tensor<2x?x64xf32>, %g: tensor<64xf32>, %w: tensor<64x32xf32>, %qkv: tensor<2x?x128xf32>, %k: tensor<2x2x?x16xf32>, %s: tensor<1xi32>, %t: tensor<i32>, %cs: tensor<?x8xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    // CHECK: "SimplifiedLayerNormalization"{{.*}} -> tensor<2x?x64xf32>
    %n = onnx.node "SimplifiedLayerNormalization"(%x, %g) {node_attrs = {axis = -1 : i64}} : (tensor<2x?x64xf32>, tensor<64xf32>) -> !onnx.any
    // CHECK: "SkipSimplifiedLayerNormalization"{{.*}} -> (tensor<2x?x64xf32>, none, none, tensor<2x?x64xf32>)
    %o, %m, %i, %sum = onnx.node "SkipSimplifiedLayerNormalization"(%x, %x, %g) {domain = "com.microsoft"} : (tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<64xf32>) -> (!onnx.any, none, none, !onnx.any)
    // CHECK: "FusedMatMul"{{.*}} -> tensor<2x?x32xf32>
    %f = onnx.node "FusedMatMul"(%x, %w) {domain = "com.microsoft"} : (tensor<2x?x64xf32>, tensor<64x32xf32>) -> !onnx.any
    // Packed Q, K and V: 4 query heads and 2 KV heads of 16.
    // CHECK: "GroupQueryAttention"{{.*}} -> (tensor<2x?x64xf32>, tensor<2x2x?x16xf32>, tensor<2x2x?x16xf32>)
    %none = onnx.none
    %a, %pk, %pv = onnx.node "GroupQueryAttention"(%qkv, %none, %none, %k, %k, %s, %t, %cs, %cs) {domain = "com.microsoft", node_attrs = {num_heads = 4 : i64, kv_num_heads = 2 : i64}} : (tensor<2x?x128xf32>, none, none, tensor<2x2x?x16xf32>, tensor<2x2x?x16xf32>, tensor<1xi32>, tensor<i32>, tensor<?x8xf32>, tensor<?x8xf32>) -> (!onnx.any, !onnx.any, !onnx.any)
    // CHECK: "RotaryEmbedding"{{.*}} -> tensor<2x?x64xf32>
    %r = onnx.node "RotaryEmbedding"(%x, %s, %cs, %cs) {domain = "com.microsoft"} : (tensor<2x?x64xf32>, tensor<1xi32>, tensor<?x8xf32>, tensor<?x8xf32>) -> !onnx.any
    return %n, %o, %sum, %f, %a, %r : !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}
