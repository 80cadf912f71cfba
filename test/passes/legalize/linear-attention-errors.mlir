// RUN: moe-opt %s -moec-legalize-onnx -verify-diagnostics -split-input-file
// LinearAttention nodes that cannot compile say why, naming the node.

func.func @no_beta(%q: tensor<2x?x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>) {
  // expected-error @+1 {{node 'attn' (LinearAttention): update_rule 'delta' needs the beta input}}
  %y, %s = onnx.node "LinearAttention"(%q, %q, %q) {name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64, update_rule = "delta"}} : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>)
  return %y, %s : tensor<2x?x8xf32>, tensor<2x2x4x4xf32>
}

// -----

func.func @decay_size(%q: tensor<2x?x8xf32>, %g: tensor<2x?x3xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>) {
  %none = onnx.none
  // expected-error @+1 {{node 'attn' (LinearAttention): decay's last dim must be kv_num_heads or kv_num_heads · dk}}
  %y, %s = onnx.node "LinearAttention"(%q, %q, %q, %none, %g) {name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64, update_rule = "gated"}} : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>, none, tensor<2x?x3xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>)
  return %y, %s : tensor<2x?x8xf32>, tensor<2x2x4x4xf32>
}

// -----

func.func @past_state_shape(%q: tensor<2x?x8xf32>, %past: tensor<2x2x4x3xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>) {
  // expected-error @+1 {{node 'attn' (LinearAttention): past_state must be [B, 2, 4, 4]}}
  %y, %s = onnx.node "LinearAttention"(%q, %q, %q, %past) {name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64, update_rule = "linear"}} : (tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>, tensor<2x2x4x3xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>)
  return %y, %s : tensor<2x?x8xf32>, tensor<2x2x4x4xf32>
}

// -----

func.func @inverse_heads(%q: tensor<2x?x4xf32>, %k: tensor<2x?x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>) {
  // expected-error @+1 {{node 'attn' (LinearAttention): q_num_heads must be a positive multiple of kv_num_heads}}
  %y, %s = onnx.node "LinearAttention"(%q, %k, %k) {name = "attn", node_attrs = {q_num_heads = 1 : i64, kv_num_heads = 2 : i64, update_rule = "linear"}} : (tensor<2x?x4xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>)
  return %y, %s : tensor<2x?x8xf32>, tensor<2x2x4x4xf32>
}

// -----

func.func @dynamic_hidden(%q: tensor<2x?x?xf32>, %k: tensor<2x?x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>) {
  // expected-error @+1 {{node 'attn' (LinearAttention): input 0 must be [B, T, hidden] with a known hidden size}}
  %y, %s = onnx.node "LinearAttention"(%q, %k, %k) {name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 2 : i64, update_rule = "linear"}} : (tensor<2x?x?xf32>, tensor<2x?x8xf32>, tensor<2x?x8xf32>) -> (tensor<2x?x8xf32>, tensor<2x2x4x4xf32>)
  return %y, %s : tensor<2x?x8xf32>, tensor<2x2x4x4xf32>
}
