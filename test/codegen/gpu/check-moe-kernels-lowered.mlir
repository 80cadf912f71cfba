// RUN: moe-opt %s -moec-check-moe-kernels-lowered -verify-diagnostics
// A kernel-level moe op that nothing lowered is an error on the op.

func.func @main(%logits: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>) {
  // expected-error @+1 {{'moe.route' has no lowering for this target yet}}
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w, %ids : tensor<4x2xf32>, tensor<4x2xi32>
}
