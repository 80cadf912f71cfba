// RUN: moe-opt %s -moec-lower-moe-kernels-to-loops -split-input-file -verify-diagnostics
// The loop kernels compute in f32 on f32, f16 and bf16 values, with unquantized or fp8
// weights and dropless routing; anything else is an error at the op, not a wrong result.

func.func @f64(%out: tensor<?x64xf64>, %sorted: tensor<?xi32>, %w: tensor<?x2xf64>) -> tensor<?x64xf64> {
  // expected-error @+1 {{the loop kernels take f32, f16 and bf16 values and i32 ids, not f64}}
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf64>, tensor<?xi32>, tensor<?x2xf64>) -> tensor<?x64xf64>
  return %y : tensor<?x64xf64>
}

// -----

func.func @quantized(%x: tensor<?x64xf32>, %w: tensor<8x64x32xi8>, %offsets: tensor<9xi32>,
                     %s: tensor<8x2x32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{integer-quantized expert weights are not supported by the loop kernels yet}}
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<8x2x32xf32>)
         : (tensor<?x64xf32>, tensor<8x64x32xi8>, tensor<9xi32>) -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

// Unsigned weights with zero points, the same.
func.func @zero_points(%x: tensor<?x64xf32>, %w: tensor<8x64x32xui4>, %offsets: tensor<9xi32>,
                       %s: tensor<8x2x32xf32>, %z: tensor<8x2x32xui4>) -> tensor<?x32xf32> {
  // expected-error @+1 {{integer-quantized expert weights are not supported by the loop kernels yet}}
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<8x2x32xf32>) zero_points(%z : tensor<8x2x32xui4>)
         : (tensor<?x64xf32>, tensor<8x64x32xui4>, tensor<9xi32>) -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

func.func @capacity(%logits: tensor<?x8xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{capacity-limited routing is not supported by the loop kernels yet}}
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, capacity_factor = 1.25>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w : tensor<?x2xf32>
}
