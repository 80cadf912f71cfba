// RUN: moe-opt %s -moec-infer-types | FileCheck %s
// The recurrent ops of linear-attention layers, in the default domain (opset 27) and
// onnxruntime's com.microsoft domain, whose rules are one; the gates and norms around them.

module attributes {onnx.opset_imports = {ai.onnx = 27 : i64, com.microsoft = 1 : i64}} {
  // Inverse GQA (2 query heads of 4, 4 KV heads, values of 3): one output per KV head; the
  // state [B, Hkv, dk, dv] of past_state's type.
  // CHECK-LABEL: func.func @linear_attention
  // CHECK: "LinearAttention"{{.*}}domain = "com.microsoft"{{.*}} -> (tensor<2x?x12xf32>, tensor<2x4x4x3xf32>)
  // GQA (4 query heads, 2 KV heads): one output per query head.
  // CHECK: "LinearAttention"{{.*}} -> (tensor<2x?x12xf16>, tensor<2x2x2x3xf16>)
  func.func @linear_attention(%q: tensor<2x?x8xf32>, %k: tensor<2x?x8xf32>, %v: tensor<2x?x12xf32>, %s: tensor<2x4x4x3xf32>, %g: tensor<2x?x4xf32>, %q16: tensor<2x?x8xf16>, %v16: tensor<2x?x6xf16>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    %y, %state = onnx.node "LinearAttention"(%q, %k, %v, %s, %g, %g) {domain = "com.microsoft", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 4 : i64}} : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x12xf32>, tensor<2x4x4x3xf32>, tensor<2x?x4xf32>, tensor<2x?x4xf32>) -> (!onnx.any, !onnx.any)
    %none = onnx.none
    %y2, %state2 = onnx.node "LinearAttention"(%q16, %q16, %v16) {node_attrs = {q_num_heads = 4 : i64, kv_num_heads = 2 : i64, update_rule = "linear"}} : (tensor<2x?x8xf16>, tensor<2x?x8xf16>, tensor<2x?x6xf16>) -> (!onnx.any, !onnx.any)
    return %y, %state, %y2, %state2 : !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }

  // The state holds the last (k - 1) · dilation positions: [B, C, 6] for k 4 and
  // dilation 2; channels_last keeps the channel dims last, [B, 3, 2, 3].
  // CHECK-LABEL: func.func @causal_conv
  // CHECK: "CausalConvWithState"{{.*}} -> (tensor<?x6x?xf32>, tensor<?x6x6xf32>)
  // CHECK: "CausalConvWithState"{{.*}} -> (tensor<?x?x2x3xf32>, tensor<?x3x2x3xf32>)
  // CHECK: "CausalConvWithState"{{.*}} -> (tensor<?x6x?xf32>, tensor<?x6x3xf32>)
  func.func @causal_conv(%x: tensor<?x6x?xf32>, %w: tensor<6x1x4xf32>, %xl: tensor<?x?x2x3xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    %y, %s = onnx.node "CausalConvWithState"(%x, %w) {domain = "com.microsoft", node_attrs = {dilation = 2 : i64}} : (tensor<?x6x?xf32>, tensor<6x1x4xf32>) -> (!onnx.any, !onnx.any)
    %yl, %sl = onnx.node "CausalConvWithState"(%xl, %w) {domain = "com.microsoft", node_attrs = {channels_last = 1 : i64}} : (tensor<?x?x2x3xf32>, tensor<6x1x4xf32>) -> (!onnx.any, !onnx.any)
    %y27, %s27 = onnx.node "CausalConvWithState"(%x, %w) : (tensor<?x6x?xf32>, tensor<6x1x4xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s, %yl, %sl, %y27, %s27 : !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
  // LinearAttentionGate: decay like a, beta like b; GatedRMSNorm and LpNormalization like
  // their input.
  // CHECK-LABEL: func.func @gates_and_norms
  // CHECK: "LinearAttentionGate"{{.*}} -> (tensor<2x?x4xf16>, tensor<2x?x4xf16>)
  // CHECK: "GatedRMSNorm"{{.*}} -> tensor<2x?x12xf16>
  // CHECK: "LpNormalization"{{.*}} -> tensor<2x?x3x4xf16>
  func.func @gates_and_norms(%a: tensor<2x?x4xf16>, %dt: tensor<4xf32>, %x: tensor<2x?x12xf16>, %s: tensor<4xf16>, %h: tensor<2x?x3x4xf16>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    %d, %beta = onnx.node "LinearAttentionGate"(%a, %dt, %dt, %a) {domain = "com.microsoft"} : (tensor<2x?x4xf16>, tensor<4xf32>, tensor<4xf32>, tensor<2x?x4xf16>) -> (!onnx.any, !onnx.any)
    %y = onnx.node "GatedRMSNorm"(%x, %s, %x) {domain = "com.microsoft"} : (tensor<2x?x12xf16>, tensor<4xf16>, tensor<2x?x12xf16>) -> !onnx.any
    %l = onnx.node "LpNormalization"(%h) {node_attrs = {axis = -1 : i64, p = 2 : i64}} : (tensor<2x?x3x4xf16>) -> !onnx.any
    return %d, %beta, %y, %l : !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}
