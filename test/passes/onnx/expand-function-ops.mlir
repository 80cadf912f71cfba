// RUN: moe-opt %s -moec-expand-function-ops -moec-infer-types -split-input-file | FileCheck %s
// ONNX's newer function ops become the older nodes of their functions, typed by inference.

// Swish (24): x · sigmoid(alpha · x).
module attributes {onnx.opset_imports = {ai.onnx = 24 : i64}} {
  // CHECK-LABEL: func.func @swish
  // CHECK-SAME: (%[[X:.*]]: tensor<2x?xf32>)
  // CHECK: %[[ALPHA:.*]] = onnx.constant "s/constant" dense<2.000000e+00> : tensor<f32>
  // CHECK: %[[AX:.*]] = onnx.node "Mul"(%[[X]], %[[ALPHA]])
  // CHECK: %[[SIG:.*]] = onnx.node "Sigmoid"(%[[AX]])
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%[[X]], %[[SIG]]) {{.*}} -> tensor<2x?xf32>
  // CHECK: return %[[Y]]
  func.func @swish(%x: tensor<2x?xf32>) -> tensor<2x?xf32> {
    %y = onnx.node "Swish"(%x) {name = "s", node_attrs = {alpha = 2.0 : f32}} : (tensor<2x?xf32>) -> tensor<2x?xf32>
    return %y : tensor<2x?xf32>
  }
}

// -----

// SwiGLU (28): Swish(A) · B, alpha 1 by default.
module attributes {onnx.opset_imports = {ai.onnx = 28 : i64}} {
  // CHECK-LABEL: func.func @swiglu
  // CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4x8xf32>)
  // CHECK: %[[ALPHA:.*]] = onnx.constant "g/constant" dense<1.000000e+00> : tensor<f32>
  // CHECK: %[[AX:.*]] = onnx.node "Mul"(%[[A]], %[[ALPHA]])
  // CHECK: %[[SIG:.*]] = onnx.node "Sigmoid"(%[[AX]])
  // CHECK: %[[SW:.*]] = onnx.node "Mul"(%[[A]], %[[SIG]])
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%[[SW]], %[[B]]) {{.*}} -> tensor<4x8xf32>
  // CHECK: return %[[Y]]
  func.func @swiglu(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> !onnx.any {
    %y = onnx.node "SwiGLU"(%a, %b) {name = "g"} : (tensor<4x8xf32>, tensor<4x8xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// RMSNormalization (23) over the dims from `axis` on, in float32 for float16 (stash_type 1).
module attributes {onnx.opset_imports = {ai.onnx = 23 : i64}} {
  // CHECK-LABEL: func.func @rms_normalization
  // CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf16>, %[[G:.*]]: tensor<3x4xf16>)
  // CHECK: %[[W:.*]] = onnx.node "Cast"(%[[X]]) {{.*}} -> tensor<2x3x4xf32>
  // CHECK: %[[AXES:.*]] = onnx.constant "n/constant" dense<[1, 2]> : tensor<2xi64>
  // CHECK: onnx.node "ReduceMean"(%{{.*}}, %[[AXES]]) {{.*}} -> tensor<2x1x1xf32>
  // CHECK: %[[NARROW:.*]] = onnx.node "CastLike"(%{{.*}}, %[[X]]) {{.*}} -> tensor<2x3x4xf16>
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%[[NARROW]], %[[G]]) {{.*}} -> tensor<2x3x4xf16>
  // CHECK: return %[[Y]]
  func.func @rms_normalization(%x: tensor<2x3x4xf16>, %g: tensor<3x4xf16>) -> !onnx.any {
    %y = onnx.node "RMSNormalization"(%x, %g) {name = "n", node_attrs = {axis = -2 : i64}} : (tensor<2x3x4xf16>, tensor<3x4xf16>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// RotaryEmbedding (23) of a 3-D input split into 2 heads of 8: the caches gathered at the
// positions, [B, S, 1, 4] against [B, S, N, H], the halves rotated.
module attributes {onnx.opset_imports = {ai.onnx = 23 : i64}} {
  // CHECK-LABEL: func.func @rotary_embedding
  // CHECK-SAME: (%[[X:.*]]: tensor<1x3x16xf32>, %[[COS:.*]]: tensor<8x4xf32>, %[[SIN:.*]]: tensor<8x4xf32>, %[[P:.*]]: tensor<1x3xi64>)
  // CHECK: %[[C:.*]] = onnx.node "Gather"(%[[COS]], %[[P]]) {{.*}} -> tensor<1x3x4xf32>
  // CHECK: onnx.node "Unsqueeze"(%[[C]], %{{.*}}) {{.*}} -> tensor<1x3x1x4xf32>
  // CHECK: onnx.node "Reshape"(%[[X]], %{{.*}}) {{.*}} -> tensor<1x3x2x8xf32>
  // CHECK: onnx.node "Concat"{{.*}} -> tensor<1x3x2x8xf32>
  // CHECK: %[[Y:.*]] = onnx.node "Reshape"{{.*}} -> tensor<1x3x16xf32>
  // CHECK: return %[[Y]]
  func.func @rotary_embedding(%x: tensor<1x3x16xf32>, %cos: tensor<8x4xf32>, %sin: tensor<8x4xf32>, %p: tensor<1x3xi64>) -> !onnx.any {
    %y = onnx.node "RotaryEmbedding"(%x, %cos, %sin, %p) {name = "r", node_attrs = {num_heads = 2 : i64}} : (tensor<1x3x16xf32>, tensor<8x4xf32>, tensor<8x4xf32>, tensor<1x3xi64>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// TensorScatter (24) in circular mode: the update's entries scattered along axis 2 from
// each row's write index, modulo the cache's length.
module attributes {onnx.opset_imports = {ai.onnx = 24 : i64}} {
  // CHECK-LABEL: func.func @tensor_scatter
  // CHECK-SAME: (%[[C:.*]]: tensor<2x3x8x4xf32>, %[[U:.*]]: tensor<2x3x?x4xf32>, %[[W:.*]]: tensor<2xi64>)
  // CHECK: %[[STEPS:.*]] = onnx.node "Range"
  // CHECK: onnx.node "Add"
  // CHECK: %[[WRAPPED:.*]] = onnx.node "Mod"{{.*}} -> tensor<2x?xi64>
  // CHECK: %[[I:.*]] = onnx.node "Expand"{{.*}} -> tensor<2x3x?x4xi64>
  // CHECK: %[[Y:.*]] = onnx.node "ScatterElements"(%[[C]], %[[I]], %[[U]]) {name = "t/ScatterElements", node_attrs = {axis = 2 : i64}} : {{.*}} -> tensor<2x3x8x4xf32>
  // CHECK: return %[[Y]]
  func.func @tensor_scatter(%c: tensor<2x3x8x4xf32>, %u: tensor<2x3x?x4xf32>, %w: tensor<2xi64>) -> !onnx.any {
    %y = onnx.node "TensorScatter"(%c, %u, %w) {name = "t", node_attrs = {mode = "circular"}} : (tensor<2x3x8x4xf32>, tensor<2x3x?x4xf32>, tensor<2xi64>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// CausalConvWithState (27) with no past state: zeros [B, 4, 2] come before the input; k 3
// taps; no bias, no activation; the next state is the last 2 positions (of a length that
// the node's declared type, set before expansion in the pipeline, makes static).
module attributes {onnx.opset_imports = {ai.onnx = 27 : i64}} {
  // CHECK-LABEL: func.func @causal_conv
  // CHECK-SAME: (%[[X:.*]]: tensor<2x4x?xf32>, %[[W:.*]]: tensor<4x1x3xf32>)
  // CHECK: %[[ZEROS:.*]] = onnx.node "Expand"({{.*}} -> tensor<2x4x2xf32>
  // CHECK: %[[PADDED:.*]] = onnx.node "Concat"(%[[ZEROS]], %[[X]])
  // CHECK: %[[TAP0:.*]] = onnx.node "Mul"
  // CHECK: %[[TAP1:.*]] = onnx.node "Mul"
  // CHECK: %[[SUM1:.*]] = onnx.node "Add"(%[[TAP0]], %[[TAP1]])
  // CHECK: %[[TAP2:.*]] = onnx.node "Mul"
  // CHECK: %[[Y:.*]] = onnx.node "Add"(%[[SUM1]], %[[TAP2]]) {{.*}} -> tensor<2x4x?xf32>
  // CHECK-NOT: Sigmoid
  // CHECK: %[[NEXT:.*]] = onnx.node "Slice"(%[[PADDED]], {{.*}} -> tensor<2x4x?xf32>
  // CHECK: return %[[Y]], %[[NEXT]]
  func.func @causal_conv(%x: tensor<2x4x?xf32>, %w: tensor<4x1x3xf32>) -> (!onnx.any, !onnx.any) {
    %y, %s = onnx.node "CausalConvWithState"(%x, %w) {name = "conv"} : (tensor<2x4x?xf32>, tensor<4x1x3xf32>) -> (!onnx.any, !onnx.any)
    return %y, %s : !onnx.any, !onnx.any
  }
}
