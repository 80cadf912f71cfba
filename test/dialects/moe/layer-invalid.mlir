// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.layer.

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x12xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{router_weight dimension 1 is 12 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x12xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<6x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{router_weight dimension 0 is 8 but must be 6 (the number of experts)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<6x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x12x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{up_weight dimension 1 is 12 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x12x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<7x32x16xf32>) {
  // expected-error @+1 {{down_weight dimension 0 is 7 but must be 8 (the number of experts)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<7x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x64x16xf32>) {
  // expected-error @+1 {{down_weight dimension 1 is 64 but must be 32 (the gated up projection has 2 x the down projection's inner size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x64x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{down_weight dimension 1 is 32 but must be 64 (the up projection's columns are the down projection's inner size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = relu>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x8xf32>) {
  // expected-error @+1 {{down_weight dimension 2 is 8 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x8xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{result dimension 0 is 5 but must be 4 (the number of tokens)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<5x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{result dimension 1 is 8 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x63xf32>, %down: tensor<8x?x16xf32>) {
  // expected-error @+1 {{has gated experts but an odd number of up_weight columns (63)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x63xf32>, tensor<8x?x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{router_bias dimension 0 is 4 but must be 8 (the number of experts)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) router_bias(%b : tensor<4xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{score_bias dimension 0 is 4 but must be 8 (the number of experts)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) score_bias(%b : tensor<4xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{has a score_bias, which sparse_mixer routing does not take}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) score_bias(%b : tensor<8xf32>) routing <scoring = sparse_mixer, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<4x64xf32>) {
  // expected-error @+1 {{up_bias dimension 0 is 4 but must be 8 (the number of experts)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) up_bias(%b : tensor<4x64xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<8x32xf32>) {
  // expected-error @+1 {{up_bias dimension 1 is 32 but must be 64 (up_weight's columns)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) up_bias(%b : tensor<8x32xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<4x16xf32>) {
  // expected-error @+1 {{down_bias dimension 0 is 4 but must be 8 (the number of experts)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) down_bias(%b : tensor<4x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<8x32xf32>) {
  // expected-error @+1 {{down_bias dimension 1 is 32 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) down_bias(%b : tensor<8x32xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %su: tensor<8x32xf32>, %sd: tensor<16x16xf32>) {
  // expected-error @+1 {{shared_up dimension 0 is 8 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared(%su, %sd : tensor<8x32xf32>, tensor<16x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %su: tensor<16x32xf32>, %sd: tensor<32x16xf32>) {
  // expected-error @+1 {{shared_down dimension 0 is 32 but must be 16 (the gated shared_up has 2 x shared_down's inner size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared(%su, %sd : tensor<16x32xf32>, tensor<32x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x64x16xf32>, %su: tensor<16x32xf32>, %sd: tensor<16x16xf32>) {
  // expected-error @+1 {{shared_down dimension 0 is 16 but must be 32 (shared_up's columns are shared_down's inner size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared(%su, %sd : tensor<16x32xf32>, tensor<16x16xf32>) routing <scoring = softmax, k = 2> expert <activation = gelu>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x64x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %su: tensor<16x32xf32>, %sd: tensor<16x8xf32>) {
  // expected-error @+1 {{shared_down dimension 1 is 8 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared(%su, %sd : tensor<16x32xf32>, tensor<16x8xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %su: tensor<16x33xf32>, %sd: tensor<?x16xf32>) {
  // expected-error @+1 {{has gated experts but an odd number of shared_up columns (33)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared(%su, %sd : tensor<16x33xf32>, tensor<?x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %su: tensor<16x32xf32>, %sd: tensor<16x16xf32>, %g: tensor<8x1xf32>) {
  // expected-error @+1 {{shared_gate dimension 0 is 8 but must be 16 (the hidden size)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared(%su, %sd : tensor<16x32xf32>, tensor<16x16xf32>) shared_gate(%g : tensor<8x1xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %su: tensor<16x32xf32>, %sd: tensor<16x16xf32>, %g: tensor<16x2xf32>) {
  // expected-error @+1 {{shared_gate dimension 1 is 2 but must be 1 (the gate is one logit per token)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared(%su, %sd : tensor<16x32xf32>, tensor<16x16xf32>) shared_gate(%g : tensor<16x2xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %g: tensor<16x1xf32>) {
  // expected-error @+1 {{has a shared_gate but no shared expert}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) shared_gate(%g : tensor<16x1xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xbf16>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{up_weight has element type 'bf16' but must have 'f32' (the element type of the tokens)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xbf16>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %b: tensor<8xf16>) {
  // expected-error @+1 {{router_bias has element type 'f16' but must have 'f32' (the element type of the tokens)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) router_bias(%b : tensor<8xf16>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{result has element type 'f16' but must have 'f32' (the element type of the tokens)}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{routes each token to k = 9 experts but there are 8}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = softmax, k = 9> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{splits 8 experts into n_group = 3 groups, which does not divide them evenly}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = sigmoid, k = 2, n_group = 3, topk_group = 1> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{routes each token to k = 4 experts but its 1 best groups hold only 2}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) routing <scoring = sigmoid, k = 4, n_group = 4, topk_group = 1> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>, %su: tensor<16x32xf32>) {
  // expected-error @+1 {{needs both shared_up and shared_down, or neither}}
  %y = "moe.layer"(%x, %up, %down, %r, %su) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0>,
         routing = #moe.routing<scoring = softmax, k = 2>, expert = #moe.expert<activation = silu, gated = true>}>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>, tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{needs exactly one of router_weight and router_logits}}
  %y = moe.layer %x, %up, %down routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %r: tensor<8x16xf32>, %l: tensor<4x8xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{needs exactly one of router_weight and router_logits}}
  %y = moe.layer %x, %up, %down router(%r : tensor<8x16xf32>) logits(%l : tensor<4x8xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %l: tensor<4x8xf32>, %b: tensor<8xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{has router_logits and a router_bias; the bias belongs in the logits}}
  %y = moe.layer %x, %up, %down logits(%l : tensor<4x8xf32>) router_bias(%b : tensor<8xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %l: tensor<3x8xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{router_logits dimension 0 is 3 but must be 4 (the number of tokens)}}
  %y = moe.layer %x, %up, %down logits(%l : tensor<3x8xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %l: tensor<4x6xf32>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{router_logits dimension 1 is 6 but must be 8 (the number of experts)}}
  %y = moe.layer %x, %up, %down logits(%l : tensor<4x6xf32>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %l: tensor<4x8xf16>, %up: tensor<8x16x64xf32>, %down: tensor<8x32x16xf32>) {
  // expected-error @+1 {{router_logits has element type 'f16' but must have 'f32' (the element type of the tokens)}}
  %y = moe.layer %x, %up, %down logits(%l : tensor<4x8xf16>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<4x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<4x16xf32>
  return
}
