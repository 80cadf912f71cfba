// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=0" | FileCheck %s
// Experts whose inputs are weighed (a layer with weigh_inputs) read one row per (token,
// slot) pair, rows_per_token 1 with k = 2; moe.expert_parallel reads one row per token, so
// the layer stays as it is.

// CHECK-LABEL: func.func @rows_per_pair
// CHECK-NOT: moe.expert_parallel
// CHECK: moe.unpermute
func.func @rows_per_pair(%pairs: tensor<?x2xf32>, %ids: tensor<?x2xi32>, %ones: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %up = arith.constant dense<1.0> : tensor<2x2x4xf32>
  %down = arith.constant dense<2.0> : tensor<2x2x2xf32>
  %sorted, %offsets = moe.permute %ids experts 2 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<3xi32>
  %h = moe.grouped_matmul %pairs, %up offsets %offsets gather %sorted, rows_per_token 1
         expert <activation = silu, gated = true>
         : (tensor<?x2xf32>, tensor<2x2x4xf32>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x2xf32>
  %o = moe.grouped_matmul %h, %down offsets %offsets : (tensor<?x2xf32>, tensor<2x2x2xf32>, tensor<3xi32>) -> tensor<?x2xf32>
  %y = moe.unpermute %o, %sorted, %ones : (tensor<?x2xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
