// RUN: moe-opt %s -moec-expand-contrib-ops -moec-infer-types -split-input-file | FileCheck %s
// onnxruntime's contrib ops become the default-domain nodes they fuse, typed by inference.

// RMS normalization over the last dim, in float32 for a float16 input (stash_type 1); the
// inverse root mean square is output 1.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @simplified_layer_normalization
  // CHECK-SAME: (%[[X:.*]]: tensor<2x?x64xf16>, %[[G:.*]]: tensor<64xf16>)
  // CHECK: %[[W:.*]] = onnx.node "Cast"(%[[X]]) {name = "norm/Cast", node_attrs = {to = 1 : i64}} : (tensor<2x?x64xf16>) -> tensor<2x?x64xf32>
  // CHECK: %[[SQ:.*]] = onnx.node "Mul"(%[[W]], %[[W]])
  // CHECK: %[[AXES:.*]] = onnx.constant "norm/constant" dense<2> : tensor<1xi64>
  // CHECK: %[[MS:.*]] = onnx.node "ReduceMean"(%[[SQ]], %[[AXES]]) {{.*}}keepdims = 1 : i64{{.*}} -> tensor<2x?x1xf32>
  // CHECK: %[[EPS:.*]] = onnx.constant "norm/constant" dense<9.99999997E-7> : tensor<f32>
  // CHECK: %[[SUM:.*]] = onnx.node "Add"(%[[MS]], %[[EPS]])
  // CHECK: %[[RMS:.*]] = onnx.node "Sqrt"(%[[SUM]])
  // CHECK: %[[INV:.*]] = onnx.node "Reciprocal"(%[[RMS]]) {{.*}} -> tensor<2x?x1xf32>
  // CHECK: %[[N:.*]] = onnx.node "Mul"(%[[W]], %[[INV]])
  // CHECK: %[[NARROW:.*]] = onnx.node "CastLike"(%[[N]], %[[X]]) {{.*}} -> tensor<2x?x64xf16>
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%[[NARROW]], %[[G]]) {{.*}} -> tensor<2x?x64xf16>
  // CHECK: return %[[Y]], %[[INV]]
  func.func @simplified_layer_normalization(%x: tensor<2x?x64xf16>, %g: tensor<64xf16>) -> (tensor<2x?x64xf16>, !onnx.any) {
    %y, %inv = onnx.node "SimplifiedLayerNormalization"(%x, %g) {name = "norm", node_attrs = {axis = -1 : i64, epsilon = 1.0e-6 : f32}} : (tensor<2x?x64xf16>, tensor<64xf16>) -> (tensor<2x?x64xf16>, !onnx.any)
    return %y, %inv : tensor<2x?x64xf16>, !onnx.any
  }
}

// -----

// The sum of input, skip and bias, RMS-normalized over the last dim; the sum is output 3.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @skip_simplified_layer_normalization
  // CHECK-SAME: (%[[X:.*]]: tensor<2x?x64xf32>, %[[S:.*]]: tensor<2x?x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>)
  // CHECK: %[[XS:.*]] = onnx.node "Add"(%[[X]], %[[S]])
  // CHECK: %[[SUM:.*]] = onnx.node "Add"(%[[XS]], %[[B]]) {{.*}} -> tensor<2x?x64xf32>
  // CHECK: onnx.node "Mul"(%[[SUM]], %[[SUM]])
  // CHECK: onnx.node "ReduceMean"
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%{{.*}}, %[[G]]) {{.*}} -> tensor<2x?x64xf32>
  // CHECK: return %[[Y]], %[[SUM]]
  func.func @skip_simplified_layer_normalization(%x: tensor<2x?x64xf32>, %s: tensor<2x?x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (!onnx.any, !onnx.any) {
    %y, %m, %i, %sum = onnx.node "SkipSimplifiedLayerNormalization"(%x, %s, %g, %b) {domain = "com.microsoft", name = "skip", node_attrs = {epsilon = 1.0e-6 : f32}} : (tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> (!onnx.any, none, none, !onnx.any)
    return %y, %sum : !onnx.any, !onnx.any
  }
}

// -----

// The sum of input, skip and bias, then LayerNormalization over the last dim.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @skip_layer_normalization
  // CHECK-SAME: (%[[X:.*]]: tensor<2x?x64xf32>, %[[S:.*]]: tensor<2x?x64xf32>, %[[G:.*]]: tensor<64xf32>, %[[BETA:.*]]: tensor<64xf32>, %[[B:.*]]: tensor<64xf32>)
  // CHECK: %[[XS:.*]] = onnx.node "Add"(%[[X]], %[[S]])
  // CHECK: %[[SUM:.*]] = onnx.node "Add"(%[[XS]], %[[B]])
  // CHECK: %[[Y:.*]]:3 = onnx.node "LayerNormalization"(%[[SUM]], %[[G]], %[[BETA]]) {name = "skip/LayerNormalization", node_attrs = {axis = -1 : i64, epsilon = 9.99999974E-6 : f32}} {{.*}} -> (tensor<2x?x64xf32>,
  // CHECK: return %[[Y]]#0, %[[SUM]]
  func.func @skip_layer_normalization(%x: tensor<2x?x64xf32>, %s: tensor<2x?x64xf32>, %g: tensor<64xf32>, %beta: tensor<64xf32>, %b: tensor<64xf32>) -> (!onnx.any, !onnx.any) {
    %y, %m, %i, %sum = onnx.node "SkipLayerNormalization"(%x, %s, %g, %beta, %b) {domain = "com.microsoft", name = "skip", node_attrs = {epsilon = 1.0e-5 : f32}} : (tensor<2x?x64xf32>, tensor<2x?x64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any)
    return %y, %sum : !onnx.any, !onnx.any
  }
}

// -----

// alpha · A × Bᵀ.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @fused_matmul
  // CHECK-SAME: (%[[A:.*]]: tensor<3x4x8xf32>, %[[B:.*]]: tensor<16x8xf32>)
  // CHECK: %[[BT:.*]] = onnx.node "Transpose"(%[[B]]) {{.*}}perm = array<i64: 1, 0>{{.*}} -> tensor<8x16xf32>
  // CHECK: %[[P:.*]] = onnx.node "MatMul"(%[[A]], %[[BT]]) {{.*}} -> tensor<3x4x16xf32>
  // CHECK: %[[ALPHA:.*]] = onnx.constant {{.*}} dense<2.000000e+00> : tensor<f32>
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%[[P]], %[[ALPHA]]) {{.*}} -> tensor<3x4x16xf32>
  // CHECK: return %[[Y]]
  func.func @fused_matmul(%a: tensor<3x4x8xf32>, %b: tensor<16x8xf32>) -> !onnx.any {
    %y = onnx.node "FusedMatMul"(%a, %b) {domain = "com.microsoft", name = "mm", node_attrs = {alpha = 2.0 : f32, transB = 1 : i64}} : (tensor<3x4x8xf32>, tensor<16x8xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// A [B, S, N·H] input with per-token positions: split into heads [B, S, N, H], the halves
// of each head rotated by the gathered angles, [B, S, 1, H / 2], and merged back.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @rotary_embedding
  // CHECK-SAME: (%[[X:.*]]: tensor<2x?x32xf32>, %[[P:.*]]: tensor<2x?xi64>, %[[COS:.*]]: tensor<128x4xf32>, %[[SIN:.*]]: tensor<128x4xf32>)
  // CHECK: %[[C:.*]] = onnx.node "Gather"(%[[COS]], %[[P]]) {{.*}} -> tensor<2x?x4xf32>
  // CHECK: %[[S:.*]] = onnx.node "Gather"(%[[SIN]], %[[P]])
  // CHECK: %[[C4:.*]] = onnx.node "Unsqueeze"(%[[C]], %{{.*}}) {{.*}} -> tensor<2x?x1x4xf32>
  // CHECK: %[[S4:.*]] = onnx.node "Unsqueeze"(%[[S]],
  // CHECK: %[[H:.*]] = onnx.node "Reshape"(%[[X]], %{{.*}}) {{.*}} -> tensor<2x?x4x8xf32>
  // CHECK: %[[RE:.*]] = onnx.node "Slice"(%[[H]], {{.*}} -> tensor<2x?x4x4xf32>
  // CHECK: %[[IM:.*]] = onnx.node "Slice"(%[[H]],
  // CHECK: %[[A:.*]] = onnx.node "Mul"(%[[RE]], %[[C4]])
  // CHECK: %[[B:.*]] = onnx.node "Mul"(%[[IM]], %[[S4]])
  // CHECK: %[[RRE:.*]] = onnx.node "Sub"(%[[A]], %[[B]])
  // CHECK: %[[D:.*]] = onnx.node "Mul"(%[[RE]], %[[S4]])
  // CHECK: %[[E:.*]] = onnx.node "Mul"(%[[IM]], %[[C4]])
  // CHECK: %[[RIM:.*]] = onnx.node "Add"(%[[D]], %[[E]])
  // CHECK: %[[R:.*]] = onnx.node "Concat"(%[[RRE]], %[[RIM]]) {{.*}} -> tensor<2x?x4x8xf32>
  // CHECK: %[[Y:.*]] = onnx.node "Reshape"(%[[R]], %{{.*}}) {{.*}} -> tensor<2x?x32xf32>
  // CHECK: return %[[Y]]
  func.func @rotary_embedding(%x: tensor<2x?x32xf32>, %p: tensor<2x?xi64>, %cos: tensor<128x4xf32>, %sin: tensor<128x4xf32>) -> !onnx.any {
    %y = onnx.node "RotaryEmbedding"(%x, %p, %cos, %sin) {domain = "com.microsoft", name = "rope", node_attrs = {num_heads = 4 : i64}} : (tensor<2x?x32xf32>, tensor<2x?xi64>, tensor<128x4xf32>, tensor<128x4xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// A [B, N, S, H] input whose positions count from one offset, interleaved pairs rotated
// in the first 4 of 8 dims per head.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @rotary_embedding_interleaved_partial
  // CHECK-SAME: (%[[X:.*]]: tensor<2x4x?x8xf32>, %[[P:.*]]: tensor<1xi64>, %[[COS:.*]]: tensor<128x2xf32>, %[[SIN:.*]]: tensor<128x2xf32>)
  // CHECK: %[[SHAPE:.*]] = onnx.node "Shape"(%[[X]])
  // CHECK: %[[LEN:.*]] = onnx.node "Gather"(%[[SHAPE]], %{{.*}}) {{.*}} -> tensor<i64>
  // CHECK: %[[R:.*]] = onnx.node "Range"(%{{.*}}, %[[LEN]], %{{.*}}) {{.*}} -> tensor<?xi64>
  // CHECK: %[[POS:.*]] = onnx.node "Add"(%[[R]], %[[P]])
  // CHECK: %[[C:.*]] = onnx.node "Gather"(%[[COS]], %[[POS]]) {{.*}} -> tensor<?x2xf32>
  // CHECK: %[[EVEN_STEP:.*]] = onnx.constant {{.*}} dense<2> : tensor<1xi64>
  // CHECK: %[[EVEN:.*]] = onnx.node "Slice"(%[[X]], {{.*}}, %[[EVEN_STEP]]) {{.*}} -> tensor<2x4x?x2xf32>
  // CHECK: %[[ODD:.*]] = onnx.node "Slice"(%[[X]],
  // CHECK: onnx.node "Concat"({{.*}}) {{.*}}axis = -1 : i64{{.*}} -> tensor<2x4x?x2x2xf32>
  // CHECK: %[[PAIRS:.*]] = onnx.node "Reshape"({{.*}} -> tensor<2x4x?x4xf32>
  // CHECK: %[[REST:.*]] = onnx.node "Slice"(%[[X]], {{.*}} -> tensor<2x4x?x4xf32>
  // CHECK: %[[Y:.*]] = onnx.node "Concat"(%[[PAIRS]], %[[REST]]) {{.*}} -> tensor<2x4x?x8xf32>
  // CHECK: return %[[Y]]
  func.func @rotary_embedding_interleaved_partial(%x: tensor<2x4x?x8xf32>, %p: tensor<1xi64>, %cos: tensor<128x2xf32>, %sin: tensor<128x2xf32>) -> !onnx.any {
    %y = onnx.node "RotaryEmbedding"(%x, %p, %cos, %sin) {domain = "com.microsoft", name = "rope", node_attrs = {interleaved = 1 : i64}} : (tensor<2x4x?x8xf32>, tensor<1xi64>, tensor<128x2xf32>, tensor<128x2xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// Per head: softmax(Q Kᵀ / √H + attention_bias) V, the heads merged back.
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @multi_head_attention
  // CHECK-SAME: (%[[Q:.*]]: tensor<2x?x32xf32>, %[[K:.*]]: tensor<2x?x32xf32>, %[[V:.*]]: tensor<2x?x32xf32>, %[[BIAS:.*]]: tensor<2x1x?x?xf32>)
  // CHECK: %[[QH:.*]] = onnx.node "Transpose"({{.*}}perm = array<i64: 0, 2, 1, 3>{{.*}} -> tensor<2x4x?x8xf32>
  // CHECK: %[[KT:.*]] = onnx.node "Transpose"({{.*}}perm = array<i64: 0, 2, 3, 1>{{.*}} -> tensor<2x4x8x?xf32>
  // CHECK: %[[QK:.*]] = onnx.node "MatMul"(%[[QH]], %[[KT]]) {{.*}} -> tensor<2x4x?x?xf32>
  // CHECK: %[[SCALE:.*]] = onnx.constant {{.*}} dense<0.353553385> : tensor<f32>
  // CHECK: %[[SCALED:.*]] = onnx.node "Mul"(%[[QK]], %[[SCALE]])
  // CHECK: %[[BIASED:.*]] = onnx.node "Add"(%[[SCALED]], %[[BIAS]])
  // CHECK: %[[P:.*]] = onnx.node "Softmax"(%[[BIASED]]) {{.*}}axis = -1 : i64
  // CHECK: %[[VH:.*]] = onnx.node "Transpose"({{.*}} -> tensor<2x4x?x8xf32>
  // CHECK: %[[O:.*]] = onnx.node "MatMul"(%[[P]], %[[VH]])
  // CHECK: %[[OT:.*]] = onnx.node "Transpose"(%[[O]]) {{.*}} -> tensor<2x?x4x8xf32>
  // CHECK: %[[Y:.*]] = onnx.node "Reshape"(%[[OT]], {{.*}} -> tensor<2x?x32xf32>
  // CHECK: return %[[Y]]
  func.func @multi_head_attention(%q: tensor<2x?x32xf32>, %k: tensor<2x?x32xf32>, %v: tensor<2x?x32xf32>, %bias: tensor<2x1x?x?xf32>) -> !onnx.any {
    %none = onnx.none
    %y = onnx.node "MultiHeadAttention"(%q, %k, %v, %none, %none, %bias) {domain = "com.microsoft", name = "mha", node_attrs = {num_heads = 4 : i64}} : (tensor<2x?x32xf32>, tensor<2x?x32xf32>, tensor<2x?x32xf32>, none, none, tensor<2x1x?x?xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// Packed Q, K and V (4 query heads sharing 2 KV heads of 8) after a past cache: the new
// keys and values follow the past ones; each query sees the keys at its position and
// before (and within 16 positions: local_window_size), scored per KV head and its group
// of query heads; the sinks take their share in the softmax; the present caches gather
// each row's past and new entries.
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @group_query_attention
  // CHECK-SAME: (%[[QKV:.*]]: tensor<1x?x64xf32>, %[[PK:.*]]: tensor<1x2x?x8xf32>, %[[PV:.*]]: tensor<1x2x?x8xf32>, %[[SEQLENS:.*]]: tensor<1xi32>, %[[TOTAL:.*]]: tensor<i32>, %[[SINKS:.*]]: tensor<4xf32>)
  // CHECK-SAME: -> (tensor<1x?x32xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>)
  // CHECK: %[[K:.*]] = onnx.node "Slice"(%[[QKV]], {{.*}} -> tensor<1x?x16xf32>
  // CHECK: %[[V:.*]] = onnx.node "Slice"(%[[QKV]], {{.*}} -> tensor<1x?x16xf32>
  // CHECK: %[[Q:.*]] = onnx.node "Slice"(%[[QKV]], {{.*}} -> tensor<1x?x32xf32>
  // CHECK: onnx.node "Cast"(%[[SEQLENS]])
  // CHECK: %[[KEYS:.*]] = onnx.node "Concat"(%[[PK]], %{{.*}}) {{.*}}axis = 2 : i64{{.*}} -> tensor<1x2x?x8xf32>
  // CHECK: %[[VALUES:.*]] = onnx.node "Concat"(%[[PV]], %{{.*}}) {{.*}}axis = 2 : i64
  // CHECK: %[[CAUSAL:.*]] = onnx.node "LessOrEqual"
  // CHECK: %[[WINDOW:.*]] = onnx.node "GreaterOrEqual"
  // CHECK: %[[SEEN:.*]] = onnx.node "And"(%{{.*}}, %[[WINDOW]])
  // CHECK: %[[SEEN5:.*]] = onnx.node "Unsqueeze"(%[[SEEN]], {{.*}} -> tensor<1x1x1x?x?xi1>
  // CHECK: %[[GQ:.*]] = onnx.node "Reshape"({{.*}} -> tensor<1x2x2x?x8xf32>
  // CHECK: %[[SCORES:.*]] = onnx.node "MatMul"(%[[GQ]], {{.*}} -> tensor<1x2x2x?x?xf32>
  // CHECK: %[[MASKED:.*]] = onnx.node "Where"(%[[SEEN5]], {{.*}} -> tensor<1x2x2x?x?xf32>
  // CHECK: %[[SINK:.*]] = onnx.node "Reshape"(%[[SINKS]], {{.*}} -> tensor<1x2x2x1x1xf32>
  // CHECK: %[[PEAK:.*]] = onnx.node "ReduceMax"(%[[MASKED]],
  // CHECK: onnx.node "Max"(%[[PEAK]], %[[SINK]])
  // CHECK: %[[W:.*]] = onnx.node "Div"
  // CHECK: onnx.node "MatMul"(%[[W]], {{.*}} -> tensor<1x2x2x?x8xf32>
  // CHECK: %[[Y:.*]] = onnx.node "Reshape"({{.*}} -> tensor<1x?x32xf32>
  // CHECK: onnx.node "Cast"(%[[TOTAL]])
  // CHECK: %[[PRESENT_K:.*]] = onnx.node "GatherElements"(%[[KEYS]], %[[I:.*]]) {{.*}}axis = 2 : i64
  // CHECK: %[[PRESENT_V:.*]] = onnx.node "GatherElements"(%[[VALUES]], %[[I]])
  // CHECK: return %[[Y]], %[[PRESENT_K]], %[[PRESENT_V]]
  func.func @group_query_attention(%qkv: tensor<1x?x64xf32>, %pk: tensor<1x2x?x8xf32>, %pv: tensor<1x2x?x8xf32>, %seqlens: tensor<1xi32>, %total: tensor<i32>, %sinks: tensor<4xf32>) -> (!onnx.any, !onnx.any, !onnx.any) {
    %none = onnx.none
    %y, %k, %v = onnx.node "GroupQueryAttention"(%qkv, %none, %none, %pk, %pv, %seqlens, %total, %none, %none, %none, %none, %sinks) {domain = "com.microsoft", name = "gqa", node_attrs = {num_heads = 4 : i64, kv_num_heads = 2 : i64, local_window_size = 16 : i64}} : (tensor<1x?x64xf32>, none, none, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1xi32>, tensor<i32>, none, none, none, none, tensor<4xf32>) -> (!onnx.any, !onnx.any, !onnx.any)
    return %y, %k, %v : !onnx.any, !onnx.any, !onnx.any
  }
}

// -----

// A window-sized cache (sliding_window_cache 1) of capacity 8 for a window of 4: a row's
// past entries hold its L(past_b) latest positions, where L evicts 8 - 4 + 1 positions at a
// time (a Div); the present caches keep the capacity and gather the L(T) latest positions.
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @group_query_attention_windowed_cache
  // CHECK: %[[KEYS:.*]] = onnx.node "Concat"({{.*}}axis = 2 : i64{{.*}} -> tensor<1x2x?x8xf32>
  // CHECK: onnx.node "Div"
  // CHECK: onnx.node "Where"({{.*}} -> tensor<1x1xi64>
  // CHECK: onnx.node "Softmax"
  // CHECK: onnx.node "Div"
  // CHECK: %[[PRESENT_K:.*]] = onnx.node "GatherElements"(%[[KEYS]], %{{.*}}) {{.*}} -> tensor<1x2x8x8xf32>
  // CHECK: return %{{.*}}, %[[PRESENT_K]]
  func.func @group_query_attention_windowed_cache(%qkv: tensor<1x?x64xf32>, %pk: tensor<1x2x8x8xf32>, %seqlens: tensor<1xi32>, %total: tensor<i32>) -> (!onnx.any, !onnx.any, !onnx.any) {
    %none = onnx.none
    %y, %k, %v = onnx.node "GroupQueryAttention"(%qkv, %none, %none, %pk, %pk, %seqlens, %total) {domain = "com.microsoft", name = "gqa", node_attrs = {num_heads = 4 : i64, kv_num_heads = 2 : i64, local_window_size = 4 : i64, sliding_window_cache = 1 : i64}} : (tensor<1x?x64xf32>, none, none, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1xi32>, tensor<i32>) -> (!onnx.any, !onnx.any, !onnx.any)
    return %y, %k, %v : !onnx.any, !onnx.any, !onnx.any
  }
}

// -----

// Separate Q, K and V, rotated at their positions: the caches gathered at the query
// positions, [B, 1, S, H / 2], rotate Q [B, N, S, H] and K [B, Nkv, S, H].
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @group_query_attention_rotary
  // CHECK: %[[POS:.*]] = onnx.node "Add"({{.*}} -> tensor<2x?xi64>
  // CHECK: %[[C:.*]] = onnx.node "Gather"(%{{.*}}, %[[POS]]) {{.*}} -> tensor<2x?x4xf32>
  // CHECK: onnx.node "Unsqueeze"(%[[C]], {{.*}} -> tensor<2x1x?x4xf32>
  // CHECK: onnx.node "Slice"({{.*}} -> tensor<2x4x?x4xf32>
  // CHECK: onnx.node "Concat"({{.*}} -> tensor<2x4x?x8xf32>
  // CHECK: onnx.node "Slice"({{.*}} -> tensor<2x2x?x4xf32>
  // CHECK: onnx.node "Concat"({{.*}} -> tensor<2x2x?x8xf32>
  // CHECK: onnx.node "Softmax"
  func.func @group_query_attention_rotary(%q: tensor<2x?x32xf32>, %kv: tensor<2x?x16xf32>, %pk: tensor<2x2x?x8xf32>, %seqlens: tensor<2xi32>, %total: tensor<i32>, %cos: tensor<64x4xf32>) -> (!onnx.any, !onnx.any, !onnx.any) {
    %y, %k, %v = onnx.node "GroupQueryAttention"(%q, %kv, %kv, %pk, %pk, %seqlens, %total, %cos, %cos) {domain = "com.microsoft", name = "gqa", node_attrs = {num_heads = 4 : i64, kv_num_heads = 2 : i64, do_rotary = 1 : i64}} : (tensor<2x?x32xf32>, tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<2x2x?x8xf32>, tensor<2x2x?x8xf32>, tensor<2xi32>, tensor<i32>, tensor<64x4xf32>, tensor<64x4xf32>) -> (!onnx.any, !onnx.any, !onnx.any)
    return %y, %k, %v : !onnx.any, !onnx.any, !onnx.any
  }
}

// -----

// The Gelu family: erf Gelu of x (and of x + b), tanh-approximated Gelu of x + b, and
// x · sigmoid(alpha · x).
module attributes {onnx.opset_imports = {ai.onnx = 20 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @activations
  // CHECK-SAME: (%[[X:.*]]: tensor<2x?x16xf32>, %[[B:.*]]: tensor<16xf32>)
  // CHECK: %[[C:.*]] = onnx.constant {{.*}} dense<0.707106769> : tensor<f32>
  // CHECK: %[[XC:.*]] = onnx.node "Mul"(%[[X]], %[[C]])
  // CHECK: %[[ERF:.*]] = onnx.node "Erf"(%[[XC]]) {{.*}} -> tensor<2x?x16xf32>
  // CHECK: %[[GELU:.*]] = onnx.node "Mul"(%[[X]], %{{.*}}) {{.*}} -> tensor<2x?x16xf32>
  // CHECK: %[[XB:.*]] = onnx.node "Add"(%[[X]], %[[B]])
  // CHECK: onnx.node "Erf"
  // CHECK: %[[BIAS_GELU:.*]] = onnx.node "Mul"(%[[XB]], %{{.*}})
  // CHECK: %[[XB2:.*]] = onnx.node "Add"(%[[X]], %[[B]])
  // CHECK: dense<4.471500e-02>
  // CHECK: dense<0.797884583>
  // CHECK: onnx.node "Tanh"
  // CHECK: %[[FAST_GELU:.*]] = onnx.node "Mul"(%[[XB2]], %{{.*}})
  // CHECK: %[[ALPHA:.*]] = onnx.constant {{.*}} dense<1.500000e+00> : tensor<f32>
  // CHECK: %[[XA:.*]] = onnx.node "Mul"(%[[X]], %[[ALPHA]])
  // CHECK: %[[S:.*]] = onnx.node "Sigmoid"(%[[XA]])
  // CHECK: %[[QUICK_GELU:.*]] = onnx.node "Mul"(%[[X]], %[[S]]) {{.*}} -> tensor<2x?x16xf32>
  // CHECK: return %[[GELU]], %[[BIAS_GELU]], %[[FAST_GELU]], %[[QUICK_GELU]]
  func.func @activations(%x: tensor<2x?x16xf32>, %b: tensor<16xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    %gelu = onnx.node "Gelu"(%x) {domain = "com.microsoft", name = "gelu"} : (tensor<2x?x16xf32>) -> !onnx.any
    %bias_gelu = onnx.node "BiasGelu"(%x, %b) {domain = "com.microsoft", name = "bias_gelu"} : (tensor<2x?x16xf32>, tensor<16xf32>) -> !onnx.any
    %fast_gelu = onnx.node "FastGelu"(%x, %b) {domain = "com.microsoft", name = "fast_gelu"} : (tensor<2x?x16xf32>, tensor<16xf32>) -> !onnx.any
    %quick_gelu = onnx.node "QuickGelu"(%x) {domain = "com.microsoft", name = "quick_gelu", node_attrs = {alpha = 1.5 : f32}} : (tensor<2x?x16xf32>) -> !onnx.any
    return %gelu, %bias_gelu, %fast_gelu, %quick_gelu : !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}

// -----

// CausalConvWithState with k 3 taps 2 apart (dilation 2): the state of 4 positions then
// the input, tap j reading the L positions from 2j on (ends -4, -2, to the end) times its
// weight column, after the bias; SiLU; the next state the last 4 positions.
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @causal_conv_dilated
  // CHECK-SAME: (%[[X:.*]]: tensor<?x6x?xf32>, %[[W:.*]]: tensor<6x1x3xf32>, %[[B:.*]]: tensor<6xf32>, %[[S:.*]]: tensor<?x6x4xf32>)
  // CHECK: %[[PADDED:.*]] = onnx.node "Concat"(%[[S]], %[[X]]) {{.*}}axis = 2 : i64{{.*}} -> tensor<?x6x?xf32>
  // CHECK: onnx.node "Unsqueeze"(%[[B]]
  // CHECK: dense<-4>
  // CHECK: onnx.node "Slice"(%[[PADDED]]
  // CHECK: onnx.node "Slice"(%[[W]]
  // CHECK: dense<-2>
  // CHECK: onnx.node "Slice"(%[[PADDED]]
  // CHECK: dense<9223372036854775807>
  // CHECK: onnx.node "Slice"(%[[PADDED]]
  // CHECK: %[[SUM:.*]] = onnx.node "Add"
  // CHECK: onnx.node "Sigmoid"
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%[[SUM]], {{.*}} -> tensor<?x6x?xf32>
  // CHECK: %[[NEXT:.*]] = onnx.node "Slice"(%[[PADDED]], {{.*}} -> tensor<?x6x4xf32>
  // CHECK: return %[[Y]], %[[NEXT]]
  func.func @causal_conv_dilated(%x: tensor<?x6x?xf32>, %w: tensor<6x1x3xf32>, %b: tensor<6xf32>, %s: tensor<?x6x4xf32>) -> (tensor<?x6x?xf32>, tensor<?x6x4xf32>) {
    %y, %state = onnx.node "CausalConvWithState"(%x, %w, %b, %s) {domain = "com.microsoft", name = "conv", node_attrs = {activation = "silu", dilation = 2 : i64}} : (tensor<?x6x?xf32>, tensor<6x1x3xf32>, tensor<6xf32>, tensor<?x6x4xf32>) -> (tensor<?x6x?xf32>, tensor<?x6x4xf32>)
    return %y, %state : tensor<?x6x?xf32>, tensor<?x6x4xf32>
  }
}

// -----

// channels_last, [B, L, 2, 3]: flattened to [B, L, 6] and moved to [B, 6, L]; with no
// past state, zeros [B, 6, 1] come first; the output goes back to the input's shape and
// the state to [B, 1, 2, 3].
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @causal_conv_channels_last
  // CHECK-SAME: (%[[X:.*]]: tensor<?x?x2x3xf32>,
  // CHECK: onnx.node "Reshape"(%[[X]], {{.*}} -> tensor<?x?x6xf32>
  // CHECK: %[[FIRST:.*]] = onnx.node "Transpose"({{.*}} -> tensor<?x6x?xf32>
  // CHECK: %[[ZEROS:.*]] = onnx.node "Expand"({{.*}} -> tensor<?x6x1xf32>
  // CHECK: onnx.node "Concat"(%[[ZEROS]], %[[FIRST]])
  // CHECK: %[[SHAPE:.*]] = onnx.node "Shape"(%[[X]])
  // CHECK: %[[Y:.*]] = onnx.node "Reshape"(%{{.*}}, %[[SHAPE]]) {{.*}} -> tensor<?x?x2x3xf32>
  // CHECK: %[[NEXT:.*]] = onnx.node "Reshape"({{.*}} -> tensor<?x1x2x3xf32>
  // CHECK: return %[[Y]], %[[NEXT]]
  func.func @causal_conv_channels_last(%x: tensor<?x?x2x3xf32>, %w: tensor<6x1x2xf32>) -> (!onnx.any, !onnx.any) {
    %y, %state = onnx.node "CausalConvWithState"(%x, %w) {domain = "com.microsoft", name = "conv", node_attrs = {channels_last = 1 : i64}} : (tensor<?x?x2x3xf32>, tensor<6x1x2xf32>) -> (!onnx.any, !onnx.any)
    return %y, %state : !onnx.any, !onnx.any
  }
}

// -----

// LinearAttention with inverse GQA (Qwen3.5: 2 query and key heads of 4, 4 value heads):
// the query and key heads repeated in place to 4, for ONNX's LinearAttention.
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @linear_attention_inverse_gqa
  // CHECK-SAME: (%[[Q:.*]]: tensor<?x?x8xf32>, %[[V:.*]]: tensor<?x?x12xf32>, %[[G:.*]]: tensor<?x?x4xf32>)
  // CHECK: onnx.node "Reshape"(%[[Q]], {{.*}} -> tensor<?x?x2x1x4xf32>
  // CHECK: onnx.node "Expand"({{.*}} -> tensor<?x?x2x2x4xf32>
  // CHECK: %[[Q4:.*]] = onnx.node "Reshape"({{.*}} -> tensor<?x?x16xf32>
  // CHECK: %[[K4:.*]] = onnx.node "Reshape"({{.*}} -> tensor<?x?x16xf32>
  // CHECK: %[[Y:.*]]:2 = onnx.node "LinearAttention"(%[[Q4]], %[[K4]], %[[V]], %{{.*}}, %[[G]], %[[G]]) {name = "attn/LinearAttention", node_attrs = {kv_num_heads = 4 : i64, q_num_heads = 4 : i64, scale = 1.000000e+00 : f32, update_rule = "gated_delta"}}
  // CHECK-SAME: -> (tensor<?x?x12xf32>, tensor<?x4x4x3xf32>)
  func.func @linear_attention_inverse_gqa(%q: tensor<?x?x8xf32>, %v: tensor<?x?x12xf32>, %g: tensor<?x?x4xf32>) -> (!onnx.any, !onnx.any) {
    %none = onnx.none
    %y, %state = onnx.node "LinearAttention"(%q, %q, %v, %none, %g, %g) {domain = "com.microsoft", name = "attn", node_attrs = {q_num_heads = 2 : i64, kv_num_heads = 4 : i64, scale = 1.0 : f32}} : (tensor<?x?x8xf32>, tensor<?x?x8xf32>, tensor<?x?x12xf32>, none, tensor<?x?x4xf32>, tensor<?x?x4xf32>) -> (!onnx.any, !onnx.any)
    return %y, %state : !onnx.any, !onnx.any
  }
}

// -----

// LinearAttentionGate: decay_scale · Softplus(a + dt_bias) and Sigmoid(b), in float32 for
// float16 a and b, narrowed back.
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @linear_attention_gate
  // CHECK-SAME: (%[[A:.*]]: tensor<2x?x4xf16>, %[[DT:.*]]: tensor<4xf32>, %[[DS:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<2x?x4xf16>)
  // CHECK: %[[WA:.*]] = onnx.node "Cast"(%[[A]]) {{.*}}to = 1 : i64
  // CHECK: %[[SUM:.*]] = onnx.node "Add"(%[[WA]], %[[DT]])
  // CHECK: %[[SP:.*]] = onnx.node "Softplus"(%[[SUM]])
  // CHECK: %[[DECAY:.*]] = onnx.node "Mul"(%[[SP]], %[[DS]]) {{.*}} -> tensor<2x?x4xf32>
  // CHECK: %[[D16:.*]] = onnx.node "CastLike"(%[[DECAY]], %[[A]]) {{.*}} -> tensor<2x?x4xf16>
  // CHECK: %[[WB:.*]] = onnx.node "Cast"(%[[B]])
  // CHECK: %[[BETA:.*]] = onnx.node "Sigmoid"(%[[WB]])
  // CHECK: %[[B16:.*]] = onnx.node "CastLike"(%[[BETA]], %[[B]]) {{.*}} -> tensor<2x?x4xf16>
  // CHECK: return %[[D16]], %[[B16]]
  func.func @linear_attention_gate(%a: tensor<2x?x4xf16>, %dt: tensor<4xf32>, %ds: tensor<4xf32>, %b: tensor<2x?x4xf16>) -> (!onnx.any, !onnx.any) {
    %d, %beta = onnx.node "LinearAttentionGate"(%a, %dt, %ds, %b) {domain = "com.microsoft", name = "gate"} : (tensor<2x?x4xf16>, tensor<4xf32>, tensor<4xf32>, tensor<2x?x4xf16>) -> (!onnx.any, !onnx.any)
    return %d, %beta : !onnx.any, !onnx.any
  }

  // Float32 a needs no Cast; without b there is no beta.
  // CHECK-LABEL: func.func @linear_attention_gate_decay_only
  // CHECK-NOT: "Cast"
  // CHECK-NOT: "Sigmoid"
  // CHECK: %[[DECAY:.*]] = onnx.node "Mul"
  // CHECK-NEXT: return %[[DECAY]]
  func.func @linear_attention_gate_decay_only(%a: tensor<2x?x4xf32>, %dt: tensor<4xf32>, %ds: tensor<4xf32>) -> !onnx.any {
    %d = onnx.node "LinearAttentionGate"(%a, %dt, %ds) {domain = "com.microsoft", name = "gate"} : (tensor<2x?x4xf32>, tensor<4xf32>, tensor<4xf32>) -> !onnx.any
    return %d : !onnx.any
  }
}

// -----

// GatedRMSNorm: [B, T, 3 · 4] RMS-normalized per group of 4 (the scale's length) as
// [B, T, 3, 4], times the scale, back to [B, T, 12], times the activated gate.
module attributes {onnx.opset_imports = {ai.onnx = 22 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @gated_rms_norm_sigmoid
  // CHECK-SAME: (%[[X:.*]]: tensor<2x?x12xf32>, %[[S:.*]]: tensor<4xf32>, %[[Z:.*]]: tensor<2x?x12xf32>)
  // CHECK: %[[TO_GROUPS:.*]] = onnx.constant "norm/constant" dense<[0, 0, 3, 4]> : tensor<4xi64>
  // CHECK: %[[G:.*]] = onnx.node "Reshape"(%[[X]], %[[TO_GROUPS]]) {{.*}} -> tensor<2x?x3x4xf32>
  // CHECK: onnx.node "ReduceMean"({{.*}}) {{.*}} -> tensor<2x?x3x1xf32>
  // CHECK: dense<9.99999997E-7>
  // CHECK: %[[SCALED:.*]] = onnx.node "Mul"(%{{.*}}, %[[S]]) {{.*}} -> tensor<2x?x3x4xf32>
  // CHECK: %[[SHAPE:.*]] = onnx.node "Shape"(%[[X]])
  // CHECK: %[[N:.*]] = onnx.node "Reshape"(%[[SCALED]], %[[SHAPE]]) {{.*}} -> tensor<2x?x12xf32>
  // CHECK: %[[GATE:.*]] = onnx.node "Sigmoid"(%[[Z]])
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%[[N]], %[[GATE]]) {{.*}} -> tensor<2x?x12xf32>
  // CHECK: return %[[Y]]
  func.func @gated_rms_norm_sigmoid(%x: tensor<2x?x12xf32>, %s: tensor<4xf32>, %z: tensor<2x?x12xf32>) -> !onnx.any {
    %y = onnx.node "GatedRMSNorm"(%x, %s, %z) {domain = "com.microsoft", name = "norm", node_attrs = {activation = "sigmoid", epsilon = 1.0e-6 : f32}} : (tensor<2x?x12xf32>, tensor<4xf32>, tensor<2x?x12xf32>) -> !onnx.any
    return %y : !onnx.any
  }

  // The default activation silu gates by z · sigmoid(z); float16 is computed in float32
  // and narrowed once, at the end.
  // CHECK-LABEL: func.func @gated_rms_norm_silu_f16
  // CHECK-SAME: (%[[X:.*]]: tensor<?x8xf16>, %[[S:.*]]: tensor<8xf16>, %[[Z:.*]]: tensor<?x8xf16>)
  // CHECK: onnx.node "Cast"(%[[X]])
  // CHECK: dense<[0, 1, 8]>
  // CHECK: onnx.node "Cast"(%[[S]])
  // CHECK: %[[WZ:.*]] = onnx.node "Cast"(%[[Z]])
  // CHECK: %[[SIG:.*]] = onnx.node "Sigmoid"
  // CHECK: %[[SILU:.*]] = onnx.node "Mul"(%[[WZ]], %[[SIG]])
  // CHECK: %[[Y:.*]] = onnx.node "Mul"(%{{.*}}, %[[SILU]]) {{.*}} -> tensor<?x8xf32>
  // CHECK: %[[Y16:.*]] = onnx.node "CastLike"(%[[Y]], %[[X]]) {{.*}} -> tensor<?x8xf16>
  // CHECK: return %[[Y16]]
  func.func @gated_rms_norm_silu_f16(%x: tensor<?x8xf16>, %s: tensor<8xf16>, %z: tensor<?x8xf16>) -> !onnx.any {
    %y = onnx.node "GatedRMSNorm"(%x, %s, %z) {domain = "com.microsoft", name = "norm"} : (tensor<?x8xf16>, tensor<8xf16>, tensor<?x8xf16>) -> !onnx.any
    return %y : !onnx.any
  }
}
