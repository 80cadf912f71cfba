// RUN: moe-opt %s -split-input-file -moec-raise-ort-qmoe -verify-diagnostics | FileCheck %s
// RUN: moe-opt %s -split-input-file -moec-raise-ort-qmoe=quantized-kernels=false 2>&1 | FileCheck %s --check-prefix=F32-KERNELS
// A com.microsoft.QMoE node that moe.dequantize cannot hold stays as it is, for
// moec-expand-quantized-ops, with a remark that says why; one case per reason. Where the
// target's grouped GEMM takes f32 weights (quantized-kernels=false), no node is raised.

// CHECK-NOT: moe.layer
// F32-KERNELS-COUNT-5: remark: not raised (its weights are dequantized at run time): the target's kernels take f32 expert weights
// F32-KERNELS-NOT: moe.layer

// moe has no identity activation.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %fc = onnx.constant "fc" dense<[[[1, 2], [3, 4]]]> : tensor<1x2x2xui8>
  %scales = onnx.constant "scales" dense<[[0.5, 2.0]]> : tensor<1x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised (its weights are dequantized at run time): activation_type 'identity' has no moe.expert equivalent}}
  %y = onnx.node "QMoE"(%x, %l, %fc, %scales, %none, %fc, %scales) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 8 : i64, activation_type = "identity"}}
      : (tensor<?x2xf32>, tensor<?x1xf32>, tensor<1x2x2xui8>, tensor<1x2xf32>, none, tensor<1x2x2xui8>, tensor<1x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// moe's groups are equal: 48 inputs in blocks of 32 end with a short block.
func.func @f(%x: tensor<?x48xf32>, %l: tensor<?x1xf32>) -> tensor<?x48xf32> {
  %fc1 = onnx.constant "fc1" dense<17> : tensor<1x2x48xui8>
  %fc1_scales = onnx.constant "fc1_scales" dense<1.0> : tensor<1x2x2xf32>
  %fc2 = onnx.constant "fc2" dense<17> : tensor<1x48x2xui8>
  %fc2_scales = onnx.constant "fc2_scales" dense<1.0> : tensor<1x48x1xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised (its weights are dequantized at run time): fc1's 48 inputs are not a whole number of blocks of 32}}
  %y = onnx.node "QMoE"(%x, %l, %fc1, %fc1_scales, %none, %fc2, %fc2_scales) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 8 : i64, block_size = 32 : i64}}
      : (tensor<?x48xf32>, tensor<?x1xf32>, tensor<1x2x48xui8>, tensor<1x2x2xf32>, none, tensor<1x48x2xui8>, tensor<1x48x1xf32>) -> tensor<?x48xf32>
  return %y : tensor<?x48xf32>
}

// -----

// Prepacked weights are in a layout of onnxruntime's kernels, not the schema's.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %fc = onnx.constant "fc" dense<[[[1, 2], [3, 4]]]> : tensor<1x2x2xui8>
  %scales = onnx.constant "scales" dense<[[0.5, 2.0]]> : tensor<1x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised (its weights are dequantized at run time): weights_prepacked is set}}
  %y = onnx.node "QMoE"(%x, %l, %fc, %scales, %none, %fc, %scales) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 8 : i64, weights_prepacked = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x1xf32>, tensor<1x2x2xui8>, tensor<1x2xf32>, none, tensor<1x2x2xui8>, tensor<1x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// float8 and float4 formats are not integers.
func.func @f(%x: tensor<?x2xf32>, %l: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %fc = onnx.constant "fc" dense<[[[1, 2], [3, 4]]]> : tensor<1x2x2xui8>
  %scales = onnx.constant "scales" dense<[[0.5, 2.0]]> : tensor<1x2xf32>
  %none = onnx.none
  // expected-remark @+1 {{not raised (its weights are dequantized at run time): quant_type 'fp8' is not an integer format}}
  %y = onnx.node "QMoE"(%x, %l, %fc, %scales, %none, %fc, %scales) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 8 : i64, quant_type = "fp8"}}
      : (tensor<?x2xf32>, tensor<?x1xf32>, tensor<1x2x2xui8>, tensor<1x2xf32>, none, tensor<1x2x2xui8>, tensor<1x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

// -----

// The host's quantized kernels compute in f32.
func.func @f(%x: tensor<?x2xf16>, %l: tensor<?x1xf16>) -> tensor<?x2xf16> {
  %fc = onnx.constant "fc" dense<[[[1, 2], [3, 4]]]> : tensor<1x2x2xui8>
  %scales = onnx.constant "scales" dense<[[0.5, 2.0]]> : tensor<1x2xf16>
  %none = onnx.none
  // expected-remark @+1 {{not raised (its weights are dequantized at run time): input must be a 2-D or 3-D f32 tensor of static hidden size}}
  %y = onnx.node "QMoE"(%x, %l, %fc, %scales, %none, %fc, %scales) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 8 : i64}}
      : (tensor<?x2xf16>, tensor<?x1xf16>, tensor<1x2x2xui8>, tensor<1x2xf16>, none, tensor<1x2x2xui8>, tensor<1x2xf16>) -> tensor<?x2xf16>
  return %y : tensor<?x2xf16>
}
