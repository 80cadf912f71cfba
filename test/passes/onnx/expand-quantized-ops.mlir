// RUN: moe-opt %s -moec-expand-quantized-ops -moec-infer-types -split-input-file | FileCheck %s
// Quantized ops become default-domain nodes that unpack and dequantize their weights when the
// program runs, typed by inference.

// MatMulNBits, 4 bits in blocks of 32, K = 40 (its second block padded): the bytes' low and
// high nibbles (the byte divided by 1 and by 16, modulo 16, in uint8) as floats, less the
// unpacked zero points, times the scales, cut to K columns, transposed, and A times them.
module attributes {onnx.opset_imports = {ai.onnx = 21 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @matmul_nbits
  // CHECK-SAME: (%[[A:.*]]: tensor<3x40xf32>, %[[B:.*]]: tensor<8x2x16xui8>, %[[S:.*]]: tensor<16xf32>, %[[Z:.*]]: tensor<8xui8>) -> tensor<3x8xf32>
  // CHECK-NOT: onnx.node "Reshape"(%[[B]]
  // CHECK: %[[PLACES:.*]] = onnx.constant "fc/constant" dense<[1, 16]> : tensor<2xui8>
  // CHECK: %[[RADIX:.*]] = onnx.constant "fc/constant" dense<16> : tensor<ui8>
  // CHECK: %[[BYTES:.*]] = onnx.node "Unsqueeze"(%[[B]], {{.*}} -> tensor<8x2x16x1xui8>
  // CHECK: %[[SHIFTED:.*]] = onnx.node "Div"(%[[BYTES]], %[[PLACES]]) {{.*}} -> tensor<8x2x16x2xui8>
  // CHECK: %[[FIELDS:.*]] = onnx.node "Mod"(%[[SHIFTED]], %[[RADIX]])
  // CHECK: %[[FLOATS:.*]] = onnx.node "CastLike"(%[[FIELDS]], %[[S]]) {{.*}} -> tensor<8x2x16x2xf32>
  // CHECK: %[[CODES:.*]] = onnx.node "Reshape"(%[[FLOATS]], {{.*}} -> tensor<8x2x32xf32>
  // CHECK: onnx.node "Unsqueeze"({{.*}} -> tensor<8x1x1xui8>
  // CHECK: onnx.node "CastLike"(%{{.*}}, %[[S]]) {{.*}} -> tensor<8x1x2xf32>
  // CHECK: %[[ZERO:.*]] = onnx.node "Reshape"({{.*}} -> tensor<8x2x1xf32>
  // CHECK: %[[SCALE:.*]] = onnx.node "Reshape"(%[[S]], {{.*}} -> tensor<8x2x1xf32>
  // CHECK: %[[CENTERED:.*]] = onnx.node "Sub"(%[[CODES]], %[[ZERO]])
  // CHECK: %[[W:.*]] = onnx.node "Mul"(%[[CENTERED]], %[[SCALE]]) {{.*}} -> tensor<8x2x32xf32>
  // CHECK: onnx.node "Reshape"(%[[W]], {{.*}} -> tensor<8x64xf32>
  // CHECK: onnx.node "Slice"({{.*}} -> tensor<8x40xf32>
  // CHECK: %[[WT:.*]] = onnx.node "Transpose"({{.*}} -> tensor<40x8xf32>
  // CHECK: onnx.node "MatMul"(%[[A]], %[[WT]]) {{.*}} -> tensor<3x8xf32>
  func.func @matmul_nbits(%a: tensor<3x40xf32>, %b: tensor<8x2x16xui8>, %scales: tensor<16xf32>, %zp: tensor<8xui8>) -> !onnx.any {
    %y = onnx.node "MatMulNBits"(%a, %b, %scales, %zp) {domain = "com.microsoft", name = "fc", node_attrs = {K = 40 : i64, N = 8 : i64, bits = 4 : i64, block_size = 32 : i64}} : (tensor<3x40xf32>, tensor<8x2x16xui8>, tensor<16xf32>, tensor<8xui8>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// DequantizeLinear of an int4 initializer in blocks of 2 along axis 0: its bytes reread as
// uint8 (two values a byte, the first in the low bits), unpacked, cut to its 9 values and
// sign-extended; each block's scale repeated over its rows.
module attributes {onnx.opset_imports = {ai.onnx = 21 : i64}} {
  // CHECK-LABEL: func.func @dequantize_int4_blocks
  // CHECK-SAME: (%[[S:.*]]: tensor<2x3xf32>) -> tensor<3x3xf32>
  // CHECK: %[[BYTES:.*]] = onnx.constant "dq/constant" dense<[225, 131, 7, 101, 15]> : tensor<5xui8>
  // CHECK: onnx.node "Unsqueeze"(%[[BYTES]],
  // CHECK: onnx.node "CastLike"(%{{.*}}, %[[S]]) {{.*}} -> tensor<5x2xf32>
  // CHECK: onnx.node "Slice"({{.*}} -> tensor<9xf32>
  // CHECK: %[[EIGHT:.*]] = onnx.constant "dq/constant" dense<8.000000e+00> : tensor<f32>
  // CHECK: onnx.node "Div"(%{{.*}}, %[[EIGHT]])
  // CHECK: %[[X:.*]] = onnx.node "Reshape"({{.*}} -> tensor<3x3xf32>
  // CHECK: onnx.node "Unsqueeze"(%[[S]], {{.*}} -> tensor<2x1x3xf32>
  // CHECK: onnx.node "Expand"({{.*}} -> tensor<2x2x3xf32>
  // CHECK: onnx.node "Reshape"({{.*}} -> tensor<4x3xf32>
  // CHECK: %[[SCALE:.*]] = onnx.node "Slice"({{.*}} -> tensor<3x3xf32>
  // CHECK: onnx.node "Mul"(%[[X]], %[[SCALE]]) {{.*}} -> tensor<3x3xf32>
  func.func @dequantize_int4_blocks(%scale: tensor<2x3xf32>) -> !onnx.any {
    %x = onnx.constant "w" dense<[[1, -2, 3], [-8, 7, 0], [5, 6, -1]]> : tensor<3x3xi4>
    %y = onnx.node "DequantizeLinear"(%x, %scale) {name = "dq", node_attrs = {axis = 0 : i64, block_size = 2 : i64}} : (tensor<3x3xi4>, tensor<2x3xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// DequantizeLinear per axis 1 of three: the scale and zero point as [3, 1].
module attributes {onnx.opset_imports = {ai.onnx = 21 : i64}} {
  // CHECK-LABEL: func.func @dequantize_per_axis
  // CHECK-SAME: (%[[X:.*]]: tensor<4x3x2xui8>, %[[S:.*]]: tensor<3xf32>, %[[Z:.*]]: tensor<3xui8>) -> tensor<4x3x2xf32>
  // CHECK: %[[XF:.*]] = onnx.node "CastLike"(%[[X]], %[[S]])
  // CHECK: %[[ZF:.*]] = onnx.node "CastLike"(%[[Z]], %[[S]])
  // CHECK: %[[ZERO:.*]] = onnx.node "Reshape"(%[[ZF]], {{.*}} -> tensor<3x1xf32>
  // CHECK: %[[SCALE:.*]] = onnx.node "Reshape"(%[[S]], {{.*}} -> tensor<3x1xf32>
  // CHECK: %[[CENTERED:.*]] = onnx.node "Sub"(%[[XF]], %[[ZERO]])
  // CHECK: onnx.node "Mul"(%[[CENTERED]], %[[SCALE]]) {{.*}} -> tensor<4x3x2xf32>
  func.func @dequantize_per_axis(%x: tensor<4x3x2xui8>, %scale: tensor<3xf32>, %zp: tensor<3xui8>) -> !onnx.any {
    %y = onnx.node "DequantizeLinear"(%x, %scale, %zp) {name = "dq", node_attrs = {axis = 1 : i64}} : (tensor<4x3x2xui8>, tensor<3xf32>, tensor<3xui8>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// GatherBlockQuantized of an int4 table: the packed rows are gathered first, then unpacked,
// and their scales gathered and repeated over the block.
module attributes {onnx.opset_imports = {ai.onnx = 21 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @gather_int4
  // CHECK-SAME: (%[[IDS:.*]]: tensor<?x?xi64>, %[[S:.*]]: tensor<4x1xf32>)
  // CHECK: %[[BYTES:.*]] = onnx.constant "embed/constant" dense<[225, 67, 120, 16, 101, 47, 0, 16]> : tensor<8xui8>
  // CHECK: %[[TABLE:.*]] = onnx.node "Reshape"(%[[BYTES]], {{.*}} -> tensor<4x2xui8>
  // CHECK: %[[ROWS:.*]] = onnx.node "Gather"(%[[TABLE]], %[[IDS]]) {{.*}} -> tensor<?x?x2xui8>
  // CHECK: onnx.node "Unsqueeze"(%[[ROWS]],
  // CHECK: onnx.node "Gather"(%{{.*}}, %[[IDS]]) {{.*}} -> tensor<?x?x1xf32>
  // CHECK: onnx.node "Expand"({{.*}} -> tensor<?x?x1x16xf32>
  // CHECK: %[[Y:.*]] = onnx.node "Mul"
  // CHECK: return %[[Y]]
  func.func @gather_int4(%ids: tensor<?x?xi64>, %scales: tensor<4x1xf32>) -> !onnx.any {
    %table = onnx.constant "embed" dense<[[1, -2, 3, 4], [-8, 7, 0, 1], [5, 6, -1, 2], [0, 0, 0, 1]]> : tensor<4x4xi4>
    %y = onnx.node "GatherBlockQuantized"(%table, %ids, %scales) {domain = "com.microsoft", name = "embed", node_attrs = {block_size = 16 : i64, gather_axis = 0 : i64, quantize_axis = 1 : i64}} : (tensor<4x4xi4>, tensor<?x?xi64>, tensor<4x1xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

// QMoE, 4-bit per-row weights, interleaved SwiGLU: the routing weights of the top 2 of the
// softmax, renormalized and scattered into [T, E]; every expert's fc1 (even columns the gate,
// odd ones the up projection) and fc2 over every token, [E, T, hidden]; their sum weighted by
// the routing.
module attributes {onnx.opset_imports = {ai.onnx = 17 : i64, com.microsoft = 1 : i64}} {
  // CHECK-LABEL: func.func @qmoe
  // CHECK-SAME: (%[[X:.*]]: tensor<?x32xf32>, %[[LOGITS:.*]]: tensor<?x4xf32>, %[[W1:.*]]: tensor<4x32x16xui8>, %[[S1:.*]]: tensor<4x32xf32>, %[[W2:.*]]: tensor<4x32x8xui8>, %[[S2:.*]]: tensor<4x32xf32>) -> tensor<?x32xf32>
  // CHECK: %[[P:.*]] = onnx.node "Softmax"(%[[LOGITS]])
  // CHECK: %[[TOP:.*]]:2 = onnx.node "TopK"(%[[P]], {{.*}} -> (tensor<?x2xf32>, tensor<?x2xi64>)
  // CHECK: %[[SUM:.*]] = onnx.node "ReduceSum"(%[[TOP]]#0,
  // CHECK: %[[NORM:.*]] = onnx.node "Div"(%[[TOP]]#0, %[[SUM]])
  // CHECK: %[[GATES:.*]] = onnx.node "ScatterElements"(%{{.*}}, %[[TOP]]#1, %[[NORM]]) {{.*}} -> tensor<?x4xf32>
  // CHECK: onnx.node "Unsqueeze"(%[[W1]],
  // CHECK: %[[UP:.*]] = onnx.node "MatMul"({{.*}} -> tensor<4x?x32xf32>
  // CHECK: onnx.node "Slice"(%[[UP]], {{.*}} -> tensor<4x?x16xf32>
  // CHECK: onnx.node "Slice"(%[[UP]], {{.*}} -> tensor<4x?x16xf32>
  // CHECK: onnx.node "Sigmoid"
  // CHECK: onnx.node "Unsqueeze"(%[[W2]],
  // CHECK: %[[DOWN:.*]] = onnx.node "MatMul"({{.*}} -> tensor<4x?x32xf32>
  // CHECK: onnx.node "Transpose"(%[[GATES]]) {{.*}} -> tensor<4x?xf32>
  // CHECK: %[[WEIGHTED:.*]] = onnx.node "Mul"(%[[DOWN]],
  // CHECK: %[[COMBINED:.*]] = onnx.node "ReduceSum"(%[[WEIGHTED]], {{.*}}keepdims = 0{{.*}} -> tensor<?x32xf32>
  // CHECK: onnx.node "Reshape"(%[[COMBINED]],
  func.func @qmoe(%x: tensor<?x32xf32>, %logits: tensor<?x4xf32>, %w1: tensor<4x32x16xui8>, %s1: tensor<4x32xf32>, %w2: tensor<4x32x8xui8>, %s2: tensor<4x32xf32>) -> !onnx.any {
    %none = onnx.none
    %y = onnx.node "QMoE"(%x, %logits, %w1, %s1, %none, %w2, %s2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 2 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64, expert_weight_bits = 4 : i64, normalize_routing_weights = 1 : i64}} : (tensor<?x32xf32>, tensor<?x4xf32>, tensor<4x32x16xui8>, tensor<4x32xf32>, none, tensor<4x32x8xui8>, tensor<4x32xf32>) -> !onnx.any
    return %y : !onnx.any
  }
}
