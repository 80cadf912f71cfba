// RUN: moe-opt %s -moec-expand-quantized-ops -split-input-file -verify-diagnostics
// A quantized op in a form that its expansion does not support is an error naming the node.

module attributes {onnx.opset_imports = {ai.onnx = 21 : i64, com.microsoft = 1 : i64}} {
  func.func @g_idx(%a: tensor<3x64xf32>, %b: tensor<8x2x16xui8>, %s: tensor<16xf32>, %g: tensor<64xi32>) -> !onnx.any {
    %none = onnx.none
    // expected-error @+1 {{node 'fc' (MatMulNBits): input 4 (g_idx) is not supported}}
    %y = onnx.node "MatMulNBits"(%a, %b, %s, %none, %g) {domain = "com.microsoft", name = "fc", node_attrs = {K = 64 : i64, N = 8 : i64, bits = 4 : i64, block_size = 32 : i64}} : (tensor<3x64xf32>, tensor<8x2x16xui8>, tensor<16xf32>, none, tensor<64xi32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 21 : i64, com.microsoft = 1 : i64}} {
  func.func @scales_count(%a: tensor<3x64xf32>, %b: tensor<8x2x16xui8>, %s: tensor<8xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'fc' (MatMulNBits): scales (input 2) must have 16 elements}}
    %y = onnx.node "MatMulNBits"(%a, %b, %s) {domain = "com.microsoft", name = "fc", node_attrs = {K = 64 : i64, N = 8 : i64, bits = 4 : i64, block_size = 32 : i64}} : (tensor<3x64xf32>, tensor<8x2x16xui8>, tensor<8xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64, com.microsoft = 1 : i64}} {
  func.func @prepacked(%x: tensor<?x32xf32>, %logits: tensor<?x4xf32>, %w1: tensor<4x32x16xui8>, %s1: tensor<4x32xf32>, %w2: tensor<4x32x8xui8>, %s2: tensor<4x32xf32>) -> !onnx.any {
    %none = onnx.none
    // expected-error @+1 {{node 'moe' (QMoE): attribute 'weights_prepacked' other than 0 is not supported}}
    %y = onnx.node "QMoE"(%x, %logits, %w1, %s1, %none, %w2, %s2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 2 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64, weights_prepacked = 1 : i64}} : (tensor<?x32xf32>, tensor<?x4xf32>, tensor<4x32x16xui8>, tensor<4x32xf32>, none, tensor<4x32x8xui8>, tensor<4x32xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64, com.microsoft = 1 : i64}} {
  func.func @fp8(%x: tensor<?x32xf32>, %logits: tensor<?x4xf32>, %w1: tensor<4x32x32xf8E4M3FN>, %s1: tensor<4x1x1xf32>, %w2: tensor<4x32x16xf8E4M3FN>, %s2: tensor<4x1x1xf32>) -> !onnx.any {
    %none = onnx.none
    // expected-error @+1 {{node 'moe' (QMoE): quant_type 'fp8' is not supported (only 'int')}}
    %y = onnx.node "QMoE"(%x, %logits, %w1, %s1, %none, %w2, %s2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 2 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64, quant_type = "fp8", block_size = 128 : i64}} : (tensor<?x32xf32>, tensor<?x4xf32>, tensor<4x32x32xf8E4M3FN>, tensor<4x1x1xf32>, none, tensor<4x32x16xf8E4M3FN>, tensor<4x1x1xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64, com.microsoft = 1 : i64}} {
  func.func @legacy_layout(%x: tensor<?x32xf32>, %logits: tensor<?x4xf32>, %w1: tensor<4x32x8xui8>, %s1: tensor<4x16xf32>, %w2: tensor<4x16x16xui8>, %s2: tensor<4x32xf32>) -> !onnx.any {
    %none = onnx.none
    // expected-error @+1 {{node 'moe' (QMoE): fc1 weights must be [4, N, 16] (the unpacked layout)}}
    %y = onnx.node "QMoE"(%x, %logits, %w1, %s1, %none, %w2, %s2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 2 : i64, activation_type = "silu"}} : (tensor<?x32xf32>, tensor<?x4xf32>, tensor<4x32x8xui8>, tensor<4x16xf32>, none, tensor<4x16x16xui8>, tensor<4x32xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 21 : i64}} {
  func.func @four_bit_activation(%x: tensor<4x4xi4>, %s: tensor<f32>) -> !onnx.any {
    // expected-error @+1 {{node 'dq' (DequantizeLinear): input 0 has 4-bit elements but is not an initializer}}
    %y = onnx.node "DequantizeLinear"(%x, %s) {name = "dq"} : (tensor<4x4xi4>, tensor<f32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 21 : i64}} {
  func.func @float8(%x: tensor<4x4xf8E4M3FN>, %s: tensor<f32>) -> !onnx.any {
    // expected-error @+1 {{node 'dq' (DequantizeLinear): input 0 must be a tensor of 4-, 8-, 16- or 32-bit integers}}
    %y = onnx.node "DequantizeLinear"(%x, %s) {name = "dq"} : (tensor<4x4xf8E4M3FN>, tensor<f32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 21 : i64, com.microsoft = 1 : i64}} {
  func.func @gather_axis(%ids: tensor<2xi64>, %table: tensor<4x32xui8>, %s: tensor<4x2xf32>) -> !onnx.any {
    // expected-error @+1 {{node 'embed' (GatherBlockQuantized): attribute 'gather_axis' other than 0 is not supported}}
    %y = onnx.node "GatherBlockQuantized"(%table, %ids, %s) {domain = "com.microsoft", name = "embed", node_attrs = {block_size = 32 : i64, gather_axis = 1 : i64, bits = 4 : i64}} : (tensor<4x32xui8>, tensor<2xi64>, tensor<4x2xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64, com.microsoft = 1 : i64}} {
  func.func @gated_silu(%x: tensor<?x32xf32>, %logits: tensor<?x4xf32>, %w1: tensor<4x16x16xui8>, %s1: tensor<4x16xf32>, %w2: tensor<4x32x8xui8>, %s2: tensor<4x32xf32>) -> !onnx.any {
    %none = onnx.none
    // expected-error @+1 {{node 'moe' (QMoE): fc3 (a gated up projection) is supported only with activation 'swiglu'}}
    %y = onnx.node "QMoE"(%x, %logits, %w1, %s1, %none, %w2, %s2, %none, %w1, %s1) {domain = "com.microsoft", name = "moe", node_attrs = {k = 2 : i64, activation_type = "silu"}} : (tensor<?x32xf32>, tensor<?x4xf32>, tensor<4x16x16xui8>, tensor<4x16xf32>, none, tensor<4x32x8xui8>, tensor<4x32xf32>, none, tensor<4x16x16xui8>, tensor<4x16xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}
