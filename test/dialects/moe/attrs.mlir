// RUN: moe-opt %s | moe-opt | FileCheck %s
// Every routing and expert attribute parameter survives a round trip; defaults are elided.

// CHECK-LABEL: func.func @mixtral
// CHECK-SAME: #moe.routing<scoring = softmax, k = 2, renormalize = true>
func.func @mixtral() attributes {r = #moe.routing<scoring = softmax, k = 2, renormalize = true>} {
  return
}

// CHECK-LABEL: func.func @deepseek_v3
// CHECK-SAME: #moe.routing<scoring = sigmoid, k = 8, renormalize = true, n_group = 8, topk_group = 4, routed_scaling_factor = 2.500000e+00>
func.func @deepseek_v3() attributes {r = #moe.routing<scoring = sigmoid, k = 8, renormalize = true, n_group = 8, topk_group = 4, routed_scaling_factor = 2.5>} {
  return
}

// CHECK-LABEL: func.func @lfm2_moe
// CHECK-SAME: #moe.routing<scoring = sigmoid, k = 4, renormalize = true, renormalize_epsilon = 9.9999999747524271E-7>
func.func @lfm2_moe() attributes {r = #moe.routing<scoring = sigmoid, k = 4, renormalize = true, renormalize_epsilon = 9.9999999747524271E-7>} {
  return
}

// CHECK-LABEL: func.func @deepseek_v4
// CHECK-SAME: #moe.routing<scoring = sqrt_softplus, k = 6, renormalize = true, routed_scaling_factor = 1.500000e+00>
func.func @deepseek_v4() attributes {r = #moe.routing<scoring = sqrt_softplus, k = 6, renormalize = true, routed_scaling_factor = 1.5>} {
  return
}

// CHECK-LABEL: func.func @axk2
// CHECK-SAME: #moe.routing<scoring = sigmoid, k = 8, renormalize = true, n_group = 8, topk_group = 4, zero_masked_groups = true>
func.func @axk2() attributes {r = #moe.routing<scoring = sigmoid, k = 8, renormalize = true, n_group = 8, topk_group = 4, zero_masked_groups = true>} {
  return
}

// CHECK-LABEL: func.func @llama4
// CHECK-SAME: #moe.routing<scoring = sigmoid, k = 1, topk_first = true, weigh_inputs = true>
func.func @llama4() attributes {r = #moe.routing<scoring = sigmoid, k = 1, topk_first = true, weigh_inputs = true>} {
  return
}

// CHECK-LABEL: func.func @gpt_oss
// CHECK-SAME: #moe.routing<scoring = softmax, k = 4, topk_first = true>
func.func @gpt_oss() attributes {r = #moe.routing<scoring = softmax, k = 4, topk_first = true>} {
  return
}

// CHECK-LABEL: func.func @kolibri
// CHECK-SAME: #moe.routing<scoring = sigmoid, k = 2, renormalize = true, topk_first = true, renormalize_epsilon = 5.000000e-01>
func.func @kolibri() attributes {r = #moe.routing<scoring = sigmoid, k = 2, renormalize = true, topk_first = true, renormalize_epsilon = 0.5>} {
  return
}

// CHECK-LABEL: func.func @phi_3_5_moe
// CHECK-SAME: #moe.routing<scoring = sparse_mixer, k = 2>
func.func @phi_3_5_moe() attributes {r = #moe.routing<scoring = sparse_mixer, k = 2>} {
  return
}

// transformers' PhiMoE takes its config's router_jitter_noise; the default 0.01 is not printed.
// CHECK-LABEL: func.func @phimoe_jitter_eps
// CHECK-SAME: #moe.routing<scoring = sparse_mixer, k = 2, jitter_eps = 0.000000e+00>
// CHECK-SAME: #moe.routing<scoring = sparse_mixer, k = 2>
func.func @phimoe_jitter_eps() attributes {r = #moe.routing<scoring = sparse_mixer, k = 2, jitter_eps = 0.0>, s = #moe.routing<scoring = sparse_mixer, k = 2, jitter_eps = 0.01>} {
  return
}

// CHECK-LABEL: func.func @switch_with_capacity
// CHECK-SAME: #moe.routing<scoring = softmax, k = 1, capacity_factor = 1.250000e+00>
func.func @switch_with_capacity() attributes {r = #moe.routing<scoring = softmax, k = 1, capacity_factor = 1.25>} {
  return
}

// CHECK-LABEL: func.func @defaults_elided
// CHECK-SAME: #moe.routing<scoring = softmax, k = 2>
func.func @defaults_elided() attributes {r = #moe.routing<scoring = softmax, k = 2, renormalize = false, topk_first = false, n_group = 1, topk_group = 1, routed_scaling_factor = 1.0, capacity_factor = 0.0>} {
  return
}

// CHECK-LABEL: func.func @experts
// CHECK-SAME: a = #moe.expert<activation = relu>
// CHECK-SAME: b = #moe.expert<activation = gelu>
// CHECK-SAME: c = #moe.expert<activation = gelu_tanh, gated = true>
// CHECK-SAME: d = #moe.expert<activation = silu, gated = true>
// CHECK-SAME: e = #moe.expert<activation = swiglu_clamped, gated = true>
// CHECK-SAME: f = #moe.expert<activation = swiglu_clamped, gated = true, alpha = 1.500000e+00, limit = 1.000000e+01>
// CHECK-SAME: g = #moe.expert<activation = silu_clamped, gated = true, limit = 1.000000e+01>
// CHECK-SAME: h = #moe.expert<activation = relu2>
func.func @experts() attributes {
  a = #moe.expert<activation = relu>,
  b = #moe.expert<activation = gelu, gated = false>,
  c = #moe.expert<activation = gelu_tanh, gated = true>,
  d = #moe.expert<activation = silu, gated = true>,
  e = #moe.expert<activation = swiglu_clamped, gated = true, alpha = 1.702, limit = 7.0>,
  f = #moe.expert<activation = swiglu_clamped, gated = true, alpha = 1.5, limit = 10.0>,
  g = #moe.expert<activation = silu_clamped, gated = true, limit = 10.0>,
  h = #moe.expert<activation = relu2>} {
  return
}
