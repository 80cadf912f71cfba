// RUN: moe-opt %s -canonicalize | FileCheck %s
// Routing attributes are simplified where a flag cannot change the result.

// k == E under softmax: renormalizing and topk_first are no-ops.
// CHECK-LABEL: func.func @all_experts_chosen
// CHECK: moe.route %arg0 routing <scoring = softmax, k = 4> :
func.func @all_experts_chosen(%l: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  %w, %i = moe.route %l routing <scoring = softmax, k = 4, renormalize = true, topk_first = true>
             : tensor<?x4xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return %w, %i : tensor<?x4xf32>, tensor<?x4xi32>
}

// An epsilon added to the sum changes weights that sum to one: renormalizing stays.
// CHECK-LABEL: func.func @all_experts_epsilon
// CHECK: moe.route %arg0 routing <scoring = softmax, k = 4, renormalize = true, renormalize_epsilon = 5.000000e-01> :
func.func @all_experts_epsilon(%l: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  %w, %i = moe.route %l routing <scoring = softmax, k = 4, renormalize = true, renormalize_epsilon = 0.5>
             : tensor<?x4xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return %w, %i : tensor<?x4xf32>, tensor<?x4xi32>
}

// Sigmoid scores do not sum to one: renormalizing still matters with k == E.
// CHECK-LABEL: func.func @all_experts_sigmoid
// CHECK: moe.route %arg0 routing <scoring = sigmoid, k = 4, renormalize = true> :
func.func @all_experts_sigmoid(%l: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  %w, %i = moe.route %l routing <scoring = sigmoid, k = 4, renormalize = true>
             : tensor<?x4xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return %w, %i : tensor<?x4xf32>, tensor<?x4xi32>
}

// Keeping every group is plain top-k.
// CHECK-LABEL: func.func @all_groups_kept
// CHECK: moe.route %arg0 routing <scoring = sigmoid, k = 2> :
func.func @all_groups_kept(%l: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %i = moe.route %l routing <scoring = sigmoid, k = 2, n_group = 4, topk_group = 4>
             : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %i : tensor<?x2xf32>, tensor<?x2xi32>
}

// Group-limited routing that drops groups stays as it is.
// CHECK-LABEL: func.func @groups_dropped
// CHECK: moe.route %arg0 routing <scoring = sigmoid, k = 2, n_group = 4, topk_group = 2> :
func.func @groups_dropped(%l: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %i = moe.route %l routing <scoring = sigmoid, k = 2, n_group = 4, topk_group = 2>
             : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %i : tensor<?x2xf32>, tensor<?x2xi32>
}

// The same simplification applies to whole layers.
// CHECK-LABEL: func.func @layer_all_experts
// CHECK: moe.layer {{.*}} routing <scoring = softmax, k = 2> expert
func.func @layer_all_experts(%x: tensor<?x16xf32>, %r: tensor<2x16xf32>, %up: tensor<2x16x64xf32>, %down: tensor<2x32x16xf32>) -> tensor<?x16xf32> {
  %y = moe.layer %x, %up, %down router(%r : tensor<2x16xf32>) routing <scoring = softmax, k = 2, renormalize = true> expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<2x16x64xf32>, tensor<2x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// Unknown expert counts leave the routing alone.
// CHECK-LABEL: func.func @dynamic_experts
// CHECK: moe.route %arg0 routing <scoring = softmax, k = 2, renormalize = true> :
func.func @dynamic_experts(%l: tensor<?x?xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %i = moe.route %l routing <scoring = softmax, k = 2, renormalize = true>
             : tensor<?x?xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %i : tensor<?x2xf32>, tensor<?x2xi32>
}

// Every group kept: group limiting is plain top-k; zero_masked_groups, which needs groups,
// cannot be there then. With a group left out it stays, and so does weigh_inputs.
// CHECK-LABEL: func.func @zero_masked_groups_kept
// CHECK: moe.layer {{.*}} routing <scoring = sigmoid, k = 2, n_group = 4, topk_group = 2, zero_masked_groups = true, weigh_inputs = true>
func.func @zero_masked_groups_kept(%x: tensor<?x16xf32>, %router: tensor<8x16xf32>, %up: tensor<8x16x64xf32>,
                                   %down: tensor<8x32x16xf32>) -> tensor<?x16xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<8x16xf32>)
         routing <scoring = sigmoid, k = 2, n_group = 4, topk_group = 2, zero_masked_groups = true, weigh_inputs = true>
         expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<8x16x64xf32>, tensor<8x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
