// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.route.

func.func @f(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{weights dimension 0 is 3 but must be 4 (the number of tokens)}}
  %w, %i = moe.route %l routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<3x2xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{weights dimension 1 is 3 but must be 2 (the routing's k)}}
  %w, %i = moe.route %l routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x3xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{expert_ids dimension 0 is 5 but must be 4 (the number of tokens)}}
  %w, %i = moe.route %l routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<5x2xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{expert_ids dimension 1 is 1 but must be 2 (the routing's k)}}
  %w, %i = moe.route %l routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x1xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{score_bias dimension 0 is 4 but must be 8 (the number of experts)}}
  %w, %i = moe.route %l score_bias(%b : tensor<4xf32>) routing <scoring = sigmoid, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>, %b: tensor<8xf16>) {
  // expected-error @+1 {{score_bias has element type 'f16' but must have 'f32' (the element type of the input)}}
  %w, %i = moe.route %l score_bias(%b : tensor<8xf16>) routing <scoring = sigmoid, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{has a score_bias, which sparse_mixer routing does not take}}
  %w, %i = moe.route %l score_bias(%b : tensor<8xf32>) routing <scoring = sparse_mixer, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{routes each token to k = 9 experts but there are 8}}
  %w, %i = moe.route %l routing <scoring = softmax, k = 9> : tensor<4x8xf32> -> tensor<4x9xf32>, tensor<4x9xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{result #1 must be 2D tensor of 32-bit signless integer values}}
  %w, %i = moe.route %l routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi64>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>) {
  // expected-error @+1 {{computes routing weights, which weigh_inputs says how to apply: only moe.layer takes it}}
  %w, %i = moe.route %l routing <scoring = sigmoid, k = 2, topk_first = true, weigh_inputs = true> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%x: tensor<4x64xf32>, %r: tensor<8x32xf32>) {
  // expected-error @+1 {{router dimension 1 is 32 but must be 64 (the hidden size of the input)}}
  %w, %i = moe.route %x router(%r : tensor<8x32xf32>) routing <scoring = softmax, k = 2> : tensor<4x64xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%x: tensor<4x64xf32>, %r: tensor<8x64xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{router_bias dimension 0 is 4 but must be 8 (the number of experts)}}
  %w, %i = moe.route %x router(%r : tensor<8x64xf32>) router_bias(%b : tensor<4xf32>) routing <scoring = softmax, k = 2> : tensor<4x64xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return
}

// -----

func.func @f(%l: tensor<4x8xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{has a router_bias but no router; the bias belongs in the logits}}
  %w, %i = moe.route %l router_bias(%b : tensor<8xf32>) routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return
}
