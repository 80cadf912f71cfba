// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.dequantize.

func.func @f(%q: tensor<8x64x32xi8>, %s: tensor<8x2x32xf32>) {
  // expected-error @+1 {{result dimension 1 is 32 but must be 64 (the shape of the quantized weights)}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) : tensor<8x64x32xi8> -> tensor<8x32x32xf32>
  return
}

// -----

func.func @f(%q: tensor<8x64x32xi8>, %s: tensor<8x2x32xf32>) {
  // expected-error @+1 {{result has element type 'f16' but must have 'f32' (the element type of the scales)}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) : tensor<8x64x32xi8> -> tensor<8x64x32xf16>
  return
}

// -----

func.func @f(%q: tensor<8x64x32xi4>, %s: tensor<8x3x32xf32>) {
  // expected-error @+1 {{has 3 scale groups, which do not divide the 64 weight rows evenly}}
  %w = moe.dequantize %q scales(%s : tensor<8x3x32xf32>) : tensor<8x64x32xi4> -> tensor<8x64x32xf32>
  return
}

// -----

func.func @f(%q: tensor<8x64x32xi8>, %s: tensor<4x2x32xf32>) {
  // expected-error @+1 {{scales dimension 0 is 4 but must be 8 (the number of experts)}}
  %w = moe.dequantize %q scales(%s : tensor<4x2x32xf32>) : tensor<8x64x32xi8> -> tensor<8x64x32xf32>
  return
}
