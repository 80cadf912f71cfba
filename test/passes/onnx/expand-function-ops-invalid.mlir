// RUN: moe-opt %s -moec-expand-function-ops -split-input-file -verify-diagnostics
// A function op in a form that its expansion does not support is an error naming the node.

module attributes {onnx.opset_imports = {ai.onnx = 23 : i64}} {
  func.func @no_heads(%x: tensor<1x3x16xf32>, %cos: tensor<8x4xf32>, %p: tensor<1x3xi64>) -> !onnx.any {
    // expected-error @+1 {{node 'r' (RotaryEmbedding): a 3-D input needs num_heads}}
    %y = onnx.node "RotaryEmbedding"(%x, %cos, %cos, %p) {name = "r"} : (tensor<1x3x16xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x3xi64>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 23 : i64}} {
  func.func @odd_rotary_dim(%x: tensor<1x2x3x8xf32>, %cos: tensor<8x4xf32>, %p: tensor<1x3xi64>) -> !onnx.any {
    // expected-error @+1 {{node 'r' (RotaryEmbedding): rotary_embedding_dim 3 must be even and at most the head size 8}}
    %y = onnx.node "RotaryEmbedding"(%x, %cos, %cos, %p) {name = "r", node_attrs = {rotary_embedding_dim = 3 : i64}} : (tensor<1x2x3x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x3xi64>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 24 : i64}} {
  func.func @batch_axis(%c: tensor<2x8xf32>, %u: tensor<2x1xf32>) -> !onnx.any {
    // expected-error @+1 {{node 't' (TensorScatter): axis 0 must be a dim of rank 2 other than the batch dim 0}}
    %y = onnx.node "TensorScatter"(%c, %u) {name = "t", node_attrs = {axis = 0 : i64}} : (tensor<2x8xf32>, tensor<2x1xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 24 : i64}} {
  func.func @unknown_mode(%c: tensor<2x8x4xf32>, %u: tensor<2x1x4xf32>) -> !onnx.any {
    // expected-error @+1 {{node 't' (TensorScatter): unknown mode 'ring'}}
    %y = onnx.node "TensorScatter"(%c, %u) {name = "t", node_attrs = {mode = "ring"}} : (tensor<2x8x4xf32>, tensor<2x1x4xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 24 : i64}} {
  func.func @integer_swish(%x: tensor<4xi32>) -> !onnx.any {
    // expected-error @+1 {{node 's' (Swish): input 0 must be a tensor of floats}}
    %y = onnx.node "Swish"(%x) {name = "s"} : (tensor<4xi32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 27 : i64}} {
  func.func @causal_conv_weight_rank(%x: tensor<2x4x?xf32>, %w: tensor<4x3xf32>) -> (!onnx.any, !onnx.any) {
    // expected-error @+1 {{node 'conv' (CausalConvWithState): input 1 must be a tensor of rank 3}}
    %y, %s = onnx.node "CausalConvWithState"(%x, %w) {name = "conv"} : (tensor<2x4x?xf32>, tensor<4x3xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}
