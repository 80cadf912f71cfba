// RUN: moe-opt %s -split-input-file -verify-diagnostics
// Every verifier error of #moe.routing and #moe.expert.

// expected-error @+1 {{routing needs k >= 1, got k = 0}}
func.func @k_zero() attributes {r = #moe.routing<scoring = softmax, k = 0>} { return }

// -----

// expected-error @+1 {{routing needs n_group >= 1, got 0}}
func.func @no_groups() attributes {r = #moe.routing<scoring = sigmoid, k = 2, n_group = 0>} { return }

// -----

// expected-error @+1 {{routing needs 1 <= topk_group <= n_group (4), got topk_group = 5}}
func.func @too_many_groups_kept() attributes {r = #moe.routing<scoring = sigmoid, k = 2, n_group = 4, topk_group = 5>} { return }

// -----

// expected-error @+1 {{topk_first routing cannot be group-limited (n_group = 2)}}
func.func @topk_first_grouped() attributes {r = #moe.routing<scoring = softmax, k = 2, topk_first = true, n_group = 2, topk_group = 1>} { return }

// -----

// expected-error @+1 {{renormalize_epsilon must be 0 or positive, got -1.000000e-06}}
func.func @negative_epsilon() attributes {r = #moe.routing<scoring = sigmoid, k = 2, renormalize = true, renormalize_epsilon = -1.0e-6>} { return }

// -----

// expected-error @+1 {{renormalize_epsilon applies to renormalized routing without a softmax over the chosen logits only, got 1.000000e-06}}
func.func @epsilon_without_renormalize() attributes {r = #moe.routing<scoring = sigmoid, k = 2, renormalize_epsilon = 1.0e-6>} { return }

// -----

// expected-error @+1 {{renormalize_epsilon applies to renormalized routing without a softmax over the chosen logits only, got 1.000000e-06}}
func.func @epsilon_topk_first() attributes {r = #moe.routing<scoring = softmax, k = 2, renormalize = true, topk_first = true, renormalize_epsilon = 1.0e-6>} { return }

// -----

// expected-error @+1 {{routed_scaling_factor must be positive, got -1}}
func.func @negative_scaling() attributes {r = #moe.routing<scoring = softmax, k = 2, routed_scaling_factor = -1.0>} { return }

// -----

// expected-error @+1 {{capacity_factor must be 0 (dropless) or positive, got -5.000000e-01}}
func.func @negative_capacity() attributes {r = #moe.routing<scoring = softmax, k = 2, capacity_factor = -0.5>} { return }

// -----

// expected-error @+1 {{sparse_mixer routing chooses exactly 2 experts, got k = 1}}
func.func @sparse_mixer_top1() attributes {r = #moe.routing<scoring = sparse_mixer, k = 1>} { return }

// -----

// expected-error @+1 {{sparse_mixer routing has weights of its own; it cannot be renormalized}}
func.func @sparse_mixer_renormalized() attributes {r = #moe.routing<scoring = sparse_mixer, k = 2, renormalize = true>} { return }

// -----

// expected-error @+1 {{topk_first routing takes a softmax or sigmoid of the chosen logits; it cannot be combined with scoring = sparse_mixer}}
func.func @sparse_mixer_topk_first() attributes {r = #moe.routing<scoring = sparse_mixer, k = 2, topk_first = true>} { return }

// -----

// expected-error @+1 {{topk_first routing takes a softmax or sigmoid of the chosen logits; it cannot be combined with scoring = sqrt_softplus}}
func.func @sqrt_softplus_topk_first() attributes {r = #moe.routing<scoring = sqrt_softplus, k = 2, topk_first = true>} { return }

// -----

// expected-error @+1 {{zero_masked_groups needs group-limited routing (topk_group < n_group), got n_group = topk_group = 1}}
func.func @zero_masked_without_groups() attributes {r = #moe.routing<scoring = sigmoid, k = 2, zero_masked_groups = true>} { return }

// -----

// expected-error @+1 {{zero_masked_groups needs group-limited routing (topk_group < n_group), got n_group = topk_group = 4}}
func.func @zero_masked_all_groups_kept() attributes {r = #moe.routing<scoring = sigmoid, k = 2, n_group = 4, topk_group = 4, zero_masked_groups = true>} { return }

// -----

// expected-error @+1 {{sparse_mixer routing cannot be group-limited (n_group = 2)}}
func.func @sparse_mixer_grouped() attributes {r = #moe.routing<scoring = sparse_mixer, k = 2, n_group = 2, topk_group = 2>} { return }

// -----

// expected-error @+1 {{jitter_eps must be 0 or positive, got -1.000000e-02}}
func.func @sparse_mixer_negative_jitter_eps() attributes {r = #moe.routing<scoring = sparse_mixer, k = 2, jitter_eps = -0.01>} { return }

// -----

// expected-error @+1 {{jitter_eps applies to sparse_mixer routing only, got 0.000000e+00}}
func.func @softmax_jitter_eps() attributes {r = #moe.routing<scoring = softmax, k = 2, jitter_eps = 0.0>} { return }

// -----

// expected-error @+1 {{swiglu_clamped is a gated activation: it needs gated = true}}
func.func @clamped_ungated() attributes {e = #moe.expert<activation = swiglu_clamped>} { return }

// -----

// expected-error @+1 {{alpha applies to swiglu_clamped only, not to silu}}
func.func @alpha_on_silu() attributes {e = #moe.expert<activation = silu, gated = true, alpha = 2.0>} { return }

// -----

// expected-error @+1 {{alpha applies to swiglu_clamped only, not to silu_clamped}}
func.func @alpha_on_silu_clamped() attributes {e = #moe.expert<activation = silu_clamped, gated = true, alpha = 1.0>} { return }

// -----

// expected-error @+1 {{limit applies to swiglu_clamped and silu_clamped only, not to relu}}
func.func @limit_on_relu() attributes {e = #moe.expert<activation = relu, limit = 10.0>} { return }

// -----

// expected-error @+1 {{silu_clamped is a gated activation: it needs gated = true}}
func.func @silu_clamped_ungated() attributes {e = #moe.expert<activation = silu_clamped, limit = 10.0>} { return }

// -----

// expected-error @+1 {{silu_clamped needs a positive limit, got -1}}
func.func @silu_clamped_negative_limit() attributes {e = #moe.expert<activation = silu_clamped, gated = true, limit = -1.0>} { return }

// -----

// expected-error @+1 {{swiglu_clamped needs a positive limit, got 0}}
func.func @zero_limit() attributes {e = #moe.expert<activation = swiglu_clamped, gated = true, limit = 0.0>} { return }

// -----

// expected-error @+2 {{expected one of [relu, gelu, gelu_tanh, silu, swiglu_clamped, silu_clamped, relu2] for the nonlinearity of an expert MLP, got: mish}}
// expected-error @+1 {{failed to parse MoE_ExpertAttr parameter 'activation'}}
func.func @unknown_activation() attributes {e = #moe.expert<activation = mish>} { return }
