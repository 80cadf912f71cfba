// RUN: moe-opt %s -moec-expand-contrib-ops -split-input-file -verify-diagnostics
// A contrib op in a form that its expansion does not support is an error naming the node.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  func.func @past_key(%q: tensor<2x?x32xf32>, %past: tensor<2x4x?x8xf32>) -> !onnx.any {
    %none = onnx.none
    // expected-error @+1 {{node 'mha' (MultiHeadAttention): input 6 (bias, key padding mask or past key and value) is not supported}}
    %y = onnx.node "MultiHeadAttention"(%q, %q, %q, %none, %none, %none, %past, %past) {domain = "com.microsoft", name = "mha", node_attrs = {num_heads = 4 : i64}} : (tensor<2x?x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>, none, none, none, tensor<2x4x?x8xf32>, tensor<2x4x?x8xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  func.func @used_mean(%x: tensor<2x?x64xf32>, %g: tensor<64xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'skip' (SkipSimplifiedLayerNormalization): moec does not compute output 1 (mean)}}
    %y, %m = onnx.node "SkipSimplifiedLayerNormalization"(%x, %x, %g) {domain = "com.microsoft", name = "skip"} : (tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<64xf32>) -> (!onnx.any, !onnx.any)
    return %m : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  func.func @batch_transpose(%a: tensor<3x4x8xf32>) -> !onnx.any {
    // expected-error @+1 {{node '<unnamed>' (FusedMatMul): attribute 'transBatchA' other than 0 is not supported}}
    %y = onnx.node "FusedMatMul"(%a, %a) {domain = "com.microsoft", node_attrs = {transBatchA = 1 : i64}} : (tensor<3x4x8xf32>, tensor<3x4x8xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  func.func @unranked_input(%x: tensor<*xf32>, %p: tensor<1xi64>, %c: tensor<16x4xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'rope' (RotaryEmbedding): input 0 must be a tensor of rank 3 to 4}}
    %y = onnx.node "RotaryEmbedding"(%x, %p, %c, %c) {domain = "com.microsoft", name = "rope"} : (tensor<*xf32>, tensor<1xi64>, tensor<16x4xf32>, tensor<16x4xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 16 : i64, com.microsoft = 1 : i64}} {
  func.func @matmul_rank(%a: tensor<8xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'mm' (FusedMatMul): input 0 must be a tensor of rank at least 2}}
    %y = onnx.node "FusedMatMul"(%a, %a) {domain = "com.microsoft", name = "mm", node_attrs = {transA = 1 : i64}} : (tensor<8xf32>, tensor<8xf32>) -> !onnx.any
    return %y : !onnx.any
  }
  func.func @old_opset(%x: tensor<2x?x64xf32>, %g: tensor<64xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'skip' (SkipLayerNormalization): expanding it takes LayerNormalization, from ONNX opset 17}}
    %y = onnx.node "SkipLayerNormalization"(%x, %x, %g) {domain = "com.microsoft", name = "skip"} : (tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<64xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @windowed_cache(%qkv: tensor<1x?x64xf32>, %pk: tensor<1x2x128x8xf32>, %seqlens: tensor<1xi32>, %total: tensor<i32>) -> !onnx.any {
    %none = onnx.none
    // expected-error @+1 {{node 'gqa' (GroupQueryAttention): sliding_window_cache 1 needs a positive local_window_size}}
    %y, %k, %v = onnx.node "GroupQueryAttention"(%qkv, %none, %none, %pk, %pk, %seqlens, %total) {domain = "com.microsoft", name = "gqa", node_attrs = {num_heads = 4 : i64, kv_num_heads = 2 : i64, sliding_window_cache = 1 : i64}} : (tensor<1x?x64xf32>, none, none, tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>, tensor<1xi32>, tensor<i32>) -> (!onnx.any, !onnx.any, !onnx.any)
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @conv_state_window(%x: tensor<2x4x?xf32>, %w: tensor<4x1x3xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'conv' (CausalConvWithState): attribute 'state_window' is for onnxruntime's CUDA kernel only}}
    %y, %s = onnx.node "CausalConvWithState"(%x, %w) {domain = "com.microsoft", name = "conv", node_attrs = {state_window = 2 : i64}} : (tensor<2x4x?xf32>, tensor<4x1x3xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @conv_activation(%x: tensor<2x4x?xf32>, %w: tensor<4x1x3xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'conv' (CausalConvWithState): activation 'relu' is not one of none, silu, swish}}
    %y, %s = onnx.node "CausalConvWithState"(%x, %w) {domain = "com.microsoft", name = "conv", node_attrs = {activation = "relu"}} : (tensor<2x4x?xf32>, tensor<4x1x3xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @conv_kernel_unknown(%x: tensor<2x4x?xf32>, %w: tensor<4x1x?xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'conv' (CausalConvWithState): the kernel size (the weight's last dim) must be known}}
    %y, %s = onnx.node "CausalConvWithState"(%x, %w) {domain = "com.microsoft", name = "conv"} : (tensor<2x4x?xf32>, tensor<4x1x?xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @conv_past_rank(%x: tensor<2x4x?xf32>, %w: tensor<4x1x3xf32>, %past: tensor<2x4xf32>) -> (!onnx.any, !onnx.any) {
    %none = onnx.none
    // expected-error @+1 {{node 'conv' (CausalConvWithState): input 3 must be a tensor of rank 3}}
    %y, %s = onnx.node "CausalConvWithState"(%x, %w, %none, %past) {domain = "com.microsoft", name = "conv"} : (tensor<2x4x?xf32>, tensor<4x1x3xf32>, none, tensor<2x4xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @attention_state_window(%q: tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'attn' (LinearAttention): attribute 'state_window' is for onnxruntime's CUDA kernel only}}
    %y, %s = onnx.node "LinearAttention"(%q, %q, %q) {domain = "com.microsoft", name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64, update_rule = "linear", state_window = 4 : i64}} : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @attention_rule(%q: tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'attn' (LinearAttention): update_rule 'softmax' is not one of linear, gated, delta, gated_delta}}
    %y, %s = onnx.node "LinearAttention"(%q, %q, %q) {domain = "com.microsoft", name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64, update_rule = "softmax"}} : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @attention_heads(%q: tensor<2x?x12xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'attn' (LinearAttention): q_num_heads and kv_num_heads must be positive, one a multiple of the other}}
    %y, %s = onnx.node "LinearAttention"(%q, %q, %q) {domain = "com.microsoft", name = "attn", node_attrs = {q_num_heads = 3 : i64, kv_num_heads = 2 : i64}} : (tensor<2x?x12xf32>, tensor<2x?x12xf32>, tensor<2x?x12xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @attention_query_rank(%q: tensor<2x?x2x4xf32>, %k: tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'attn' (LinearAttention): input 0 must be a tensor of rank 3}}
    %y, %s = onnx.node "LinearAttention"(%q, %k, %k) {domain = "com.microsoft", name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64}} : (tensor<2x?x2x4xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @attention_key_heads(%q: tensor<2x?x8xf32>, %k: tensor<2x?x12xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'attn' (LinearAttention): the key's heads (its hidden size over the query's head size) must divide kv_num_heads}}
    %y, %s = onnx.node "LinearAttention"(%q, %k, %q) {domain = "com.microsoft", name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64}} : (tensor<2x?x8xf32>, tensor<2x?x12xf32>, tensor<2x?x8xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @gate_bias_not_float32(%a: tensor<2x?x4xf16>, %dt: tensor<4xf16>, %ds: tensor<4xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'gate' (LinearAttentionGate): input 1 must be a tensor of float32}}
    %d = onnx.node "LinearAttentionGate"(%a, %dt, %ds) {domain = "com.microsoft", name = "gate"} : (tensor<2x?x4xf16>, tensor<4xf16>, tensor<4xf32>) -> !onnx.any
    return %d : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @gate_scale_length(%a: tensor<2x?x4xf32>, %dt: tensor<4xf32>, %ds: tensor<2xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'gate' (LinearAttentionGate): input 2 must have 4 elements, one per head}}
    %d = onnx.node "LinearAttentionGate"(%a, %dt, %ds) {domain = "com.microsoft", name = "gate"} : (tensor<2x?x4xf32>, tensor<4xf32>, tensor<2xf32>) -> !onnx.any
    return %d : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @gated_norm_gate_shape(%x: tensor<2x?x8xf32>, %s: tensor<4xf32>, %z: tensor<2x?x4xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'norm' (GatedRMSNorm): input 2 (gate) must have the shape of input 0}}
    %y = onnx.node "GatedRMSNorm"(%x, %s, %z) {domain = "com.microsoft", name = "norm"} : (tensor<2x?x8xf32>, tensor<4xf32>, tensor<2x?x4xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  func.func @gated_norm_dynamic_scale(%x: tensor<2x?x8xf32>, %s: tensor<?xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'norm' (GatedRMSNorm): the scale's length (the group size) must be known and positive}}
    %y = onnx.node "GatedRMSNorm"(%x, %s, %x) {domain = "com.microsoft", name = "norm"} : (tensor<2x?x8xf32>, tensor<?xf32>, tensor<2x?x8xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}
