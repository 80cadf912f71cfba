// RUN: moe-opt %s -split-input-file -moec-raise-ort-moe -verify-diagnostics | FileCheck %s
// A com.microsoft.MoE node that cannot be raised exactly stays as it is, with a remark that
// says why; one case per reason.

// CHECK-NOT: moe.layer

// SparseMixer routing is defined for top-2 only.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: use_sparse_mixer (SparseMixer routing) needs k = 2, got k = 1}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, use_sparse_mixer = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// onnxruntime's kernels disagree on SparseMixer with normalization: CUDA ignores the
// normalization, CPU the SparseMixer.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: use_sparse_mixer with normalize_routing_weights = 1}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 2 : i64, use_sparse_mixer = 1 : i64, normalize_routing_weights = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// onnxruntime reads use_sparse_mixer as a flag that only 1 sets.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: use_sparse_mixer = 2 is not 0 or 1}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 2 : i64, use_sparse_mixer = 2 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// The identity activation is not an expert body moe has.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: activation_type 'identity' has no moe.expert equivalent}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "identity"}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// SwiGLU with a limit but beta = 0 is not swiglu_clamped.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]]> : tensor<2x4x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: swiglu with activation_alpha = 1.70}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64, activation_alpha = 1.702 : f32, swiglu_limit = 7.0 : f32}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x4x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// SwiGLU without a limit but with alpha != 1 is not gated silu.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]]> : tensor<2x4x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: swiglu with activation_alpha = 1.70}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64, activation_alpha = 1.702 : f32, activation_beta = 1.0 : f32}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x4x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Unfused SwiGLU needs fc3.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: swiglu_fusion = 0 needs fc3_experts_weights for the up projection}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "swiglu", swiglu_fusion = 0 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Fused SwiGLU has no fc3.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]]> : tensor<2x4x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc3 = onnx.constant "fc3" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: fc3 is given although swiglu_fusion fuses the up projection into fc1}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2, %none, %fc3) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x4x2xf32>, none, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// An unknown swiglu_fusion.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: swiglu_fusion = 3 is not 0, 1 or 2}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "swiglu", swiglu_fusion = 3 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// Weights computed at run time cannot be rearranged when raising.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>, %fc1: tensor<2x2x2xf32>, %fc2: tensor<2x2x2xf32>) -> tensor<?x2xf32> {
  %none = onnx.none
  // expected-remark @+1 {{not raised: fc1_experts_weights is not a constant}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// k must fit the experts.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: k = 3 is not between 1 and the 2 experts}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 3 : i64}}
      : (tensor<?x2xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// router_probs must score every expert (no expert-parallel shards).
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x3xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: router_probs scores 3 experts but there are 2 (expert parallel shards are not supported)}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x3xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// The hidden size must be static.
func.func @f(%x: tensor<?x?xf32>, %l: tensor<?x2xf32>) -> tensor<?x?xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised: the hidden size (the last dimension of input) is not static}}
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64}}
      : (tensor<?x?xf32>, tensor<?x2xf32>, tensor<2x2x2xf32>, none, tensor<2x2x2xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
