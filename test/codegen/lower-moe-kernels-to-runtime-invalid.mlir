// RUN: moe-opt %s -moec-lower-moe-kernels-to-runtime -split-input-file -verify-diagnostics
// The host kernels take f32 values and unquantized weights; anything else is an error at
// the op, not a wrong result.

func.func @f16(%out: tensor<?x64xf16>, %sorted: tensor<?xi32>, %w: tensor<?x2xf16>) -> tensor<?x64xf16> {
  // expected-error @+1 {{the host MoE kernels take f32 tensors only, not f16}}
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf16>, tensor<?xi32>, tensor<?x2xf16>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

func.func @quantized(%x: tensor<?x64xf32>, %w: tensor<8x64x32xi8>, %offsets: tensor<9xi32>,
                     %s: tensor<8x2x32xf32>) -> tensor<?x32xf32> {
  // expected-error @+1 {{quantized expert weights are not supported by the host kernels yet}}
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<8x2x32xf32>)
         : (tensor<?x64xf32>, tensor<8x64x32xi8>, tensor<9xi32>) -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}
