// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.expert_activation.

func.func @f(%x: tensor<8x33xf32>) {
  // expected-error @+1 {{has a gated activation but an odd number of input columns (33)}}
  %y = moe.expert_activation %x expert <activation = silu, gated = true> : tensor<8x33xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result dimension 1 is 32 but must be 16 (half the input columns, gated)}}
  %y = moe.expert_activation %x expert <activation = silu, gated = true> : tensor<8x32xf32> -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result dimension 1 is 16 but must be 32 (the input columns)}}
  %y = moe.expert_activation %x expert <activation = relu> : tensor<8x32xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result dimension 0 is 4 but must be 8 (one row per input row)}}
  %y = moe.expert_activation %x expert <activation = relu> : tensor<8x32xf32> -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%x: tensor<8x32xf32>) {
  // expected-error @+1 {{result has element type 'bf16' but must have 'f32' (the element type of the input)}}
  %y = moe.expert_activation %x expert <activation = relu> : tensor<8x32xf32> -> tensor<8x32xbf16>
  return
}
