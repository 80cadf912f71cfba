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

// -----

func.func @f(%q: tensor<8x64x32xui4>, %s: tensor<8x2x32xf32>) {
  // expected-error @+1 {{has unsigned integer weights ('ui4') but no zero points}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) : tensor<8x64x32xui4> -> tensor<8x64x32xf32>
  return
}

// -----

func.func @f(%q: tensor<8x64x32xi4>, %s: tensor<8x2x32xf32>, %z: tensor<8x2x32xui4>) {
  // expected-error @+1 {{has zero points but 'i4' weights: zero points take unsigned integer weights}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) zero_points(%z : tensor<8x2x32xui4>) : tensor<8x64x32xi4> -> tensor<8x64x32xf32>
  return
}

// -----

func.func @f(%q: tensor<8x64x32xui4>, %s: tensor<8x2x32xf32>, %z: tensor<8x1x32xui4>) {
  // expected-error @+1 {{zero_points dimension 1 is 1 but must be 2 (the shape of the scales)}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) zero_points(%z : tensor<8x1x32xui4>) : tensor<8x64x32xui4> -> tensor<8x64x32xf32>
  return
}

// -----

func.func @f(%q: tensor<8x64x32xui4>, %s: tensor<8x2x32xf32>, %z: tensor<8x2x32xui8>) {
  // expected-error @+1 {{zero_points has element type 'ui8' but must have 'ui4' (the element type of the weights)}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) zero_points(%z : tensor<8x2x32xui8>) : tensor<8x64x32xui4> -> tensor<8x64x32xf32>
  return
}

// -----

func.func @f(%q: tensor<8x256x384xf8E4M3FN>, %s: tensor<8x2x5xf32>) {
  // expected-error @+1 {{has 5 scale blocks of columns, which do not divide the 384 weight columns evenly}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x5xf32>) : tensor<8x256x384xf8E4M3FN> -> tensor<8x256x384xf32>
  return
}

// -----

func.func @f(%q: tensor<8x256x384xf8E4M3FN>, %s: tensor<8x2x3xf32>, %z: tensor<8x2x3xui8>) {
  // expected-error @+1 {{has zero points but 'f8E4M3FN' weights: zero points take unsigned integer weights}}
  %w = moe.dequantize %q scales(%s : tensor<8x2x3xf32>) zero_points(%z : tensor<8x2x3xui8>) : tensor<8x256x384xf8E4M3FN> -> tensor<8x256x384xf32>
  return
}
