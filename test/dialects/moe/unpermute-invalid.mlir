// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.unpermute.

func.func @f(%out: tensor<8x16xf32>, %s: tensor<7xi32>, %w: tensor<4x2xf32>) {
  // expected-error @+1 {{sorted_ids dimension 0 is 7 but must be 8 (one entry per row of expert_out)}}
  %y = moe.unpermute %out, %s, %w : (tensor<8x16xf32>, tensor<7xi32>, tensor<4x2xf32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%out: tensor<8x16xf32>, %s: tensor<8xi32>, %w: tensor<4x2xf32>) {
  // expected-error @+1 {{result dimension 0 is 3 but must be 4 (the number of tokens)}}
  %y = moe.unpermute %out, %s, %w : (tensor<8x16xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<3x16xf32>
  return
}

// -----

func.func @f(%out: tensor<8x16xf32>, %s: tensor<8xi32>, %w: tensor<4x2xf32>) {
  // expected-error @+1 {{result dimension 1 is 8 but must be 16 (expert_out's columns)}}
  %y = moe.unpermute %out, %s, %w : (tensor<8x16xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @f(%out: tensor<8x16xf32>, %s: tensor<8xi32>, %w: tensor<4x2xf16>) {
  // expected-error @+1 {{weights has element type 'f16' but must have 'f32' (the element type of expert_out)}}
  %y = moe.unpermute %out, %s, %w : (tensor<8x16xf32>, tensor<8xi32>, tensor<4x2xf16>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%out: tensor<8x16xf32>, %s: tensor<8xi32>, %w: tensor<4x2xf32>) {
  // expected-error @+1 {{result has element type 'bf16' but must have 'f32' (the element type of expert_out)}}
  %y = moe.unpermute %out, %s, %w : (tensor<8x16xf32>, tensor<8xi32>, tensor<4x2xf32>) -> tensor<4x16xbf16>
  return
}

// -----

func.func @f(%out: tensor<6x16xf32>, %s: tensor<6xi32>, %w: tensor<4x2xf32>) {
  // expected-error @+1 {{has 6 expert_out rows, fewer than the 8 (token, expert) pairs it combines}}
  %y = moe.unpermute %out, %s, %w : (tensor<6x16xf32>, tensor<6xi32>, tensor<4x2xf32>) -> tensor<4x16xf32>
  return
}
