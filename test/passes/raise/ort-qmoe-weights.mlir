// RUN: moe-opt %s -split-input-file -moec-raise-ort-qmoe | FileCheck %s
// QMoE's packed codes become moe's signed values [E, K, N]: row n of a projection holds its
// K codes lowest bits first; the value is the code minus the zero point (2^(bits - 1) by
// default), transposed; the scales [E, N] become [E, 1, N]. Nothing is dequantized.

// Per-row 4-bit codes, default zero point 8: fc1 rows 0x98 (codes 8, 9) and 0xFA (10, 15)
// are [[0, 1], [2, 7]], transposed [[0, 2], [1, 7]]; fc2 rows 0x70 (0, 7) and 0x8F (15, 8)
// are [[-8, -1], [7, 0]], transposed [[-8, 7], [-1, 0]].
// CHECK-LABEL: func.func @int4
// CHECK: %[[UP:.*]] = onnx.constant "qmoe.up_weight" dense_resource<[[UP_VALUES:.*]]> : tensor<1x2x2xi4>
// CHECK: %[[UP_SCALES:.*]] = onnx.constant "qmoe.up_weight_scales" dense_resource<[[UP_SCALE_VALUES:.*]]> : tensor<1x1x2xf32>
// CHECK: %[[UP_WEIGHTS:.*]] = moe.dequantize %[[UP]] scales(%[[UP_SCALES]] : tensor<1x1x2xf32>) : tensor<1x2x2xi4> -> tensor<1x2x2xf32>
// CHECK: %[[DOWN:.*]] = onnx.constant "qmoe.down_weight" dense_resource<[[DOWN_VALUES:.*]]> : tensor<1x2x2xi4>
// CHECK: %[[DOWN_WEIGHTS:.*]] = moe.dequantize %[[DOWN]]
// CHECK: moe.layer %arg0, %[[UP_WEIGHTS]], %[[DOWN_WEIGHTS]] logits(%arg1 : tensor<?x1xf32>) routing <scoring = softmax, k = 1> expert <activation = relu>
func.func @int4(%x: tensor<?x2xf32>, %l: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[152], [250]]]> : tensor<1x2x1xui8>
  %fc1_scales = onnx.constant "fc1_scales" dense<[[0.5, 2.0]]> : tensor<1x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[112], [143]]]> : tensor<1x2x1xui8>
  %fc2_scales = onnx.constant "fc2_scales" dense<[[1.0, 1.0]]> : tensor<1x2xf32>
  %none = onnx.none
  %y = onnx.node "QMoE"(%x, %l, %fc1, %fc1_scales, %none, %fc2, %fc2_scales) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 4 : i64}}
      : (tensor<?x2xf32>, tensor<?x1xf32>, tensor<1x2x1xui8>, tensor<1x2xf32>, none, tensor<1x2x1xui8>, tensor<1x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
// CHECK: [[UP_VALUES]]: "0x0100000000020107"
// CHECK: [[UP_SCALE_VALUES]]: "0x040000000000003F00000040"
// CHECK: [[DOWN_VALUES]]: "0x01000000F807FF00"

// -----

// Interleaved SwiGLU (gate rows even) with zero points 1 and 3 (one byte, lowest bits
// first): the codes stay unsigned 4-bit values beside their zero points, [E, groups, N]
// in the same columns: gate codes 0x52 (2, 5) and up codes 0x07 (7, 0) are ui4
// [[2, 7], [5, 0]], the zero points [[1, 3]]. fc2 has the default zero points: signed i4,
// no zero points.
// CHECK-LABEL: func.func @zero_points
// CHECK: %[[UP:.*]] = onnx.constant "qmoe.up_weight" dense_resource<[[UP_VALUES:.*]]> : tensor<1x2x2xui4>
// CHECK: %[[UP_SCALES:.*]] = onnx.constant "qmoe.up_weight_scales"
// CHECK: %[[UP_ZP:.*]] = onnx.constant "qmoe.up_weight_zero_points" dense_resource<[[UP_ZP_VALUES:.*]]> : tensor<1x1x2xui4>
// CHECK: moe.dequantize %[[UP]] scales(%[[UP_SCALES]] : tensor<1x1x2xf32>) zero_points(%[[UP_ZP]] : tensor<1x1x2xui4>) : tensor<1x2x2xui4> -> tensor<1x2x2xf32>
// CHECK: onnx.constant "qmoe.down_weight" dense_resource<[[DOWN_VALUES:.*]]> : tensor<1x1x2xi4>
// CHECK-NOT: zero_points
// CHECK: moe.layer {{.*}} expert <activation = silu, gated = true>
func.func @zero_points(%x: tensor<?x2xf32>, %l: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[82], [7]]]> : tensor<1x2x1xui8>
  %fc1_scales = onnx.constant "fc1_scales" dense<[[0.5, 2.0]]> : tensor<1x2xf32>
  %fc2 = onnx.constant "fc2" dense<[[[9], [6]]]> : tensor<1x2x1xui8>
  %fc2_scales = onnx.constant "fc2_scales" dense<[[1.0, 1.0]]> : tensor<1x2xf32>
  %fc1_zero_points = onnx.constant "fc1_zero_points" dense<[[49]]> : tensor<1x1xui8>
  %none = onnx.none
  %y = onnx.node "QMoE"(%x, %l, %fc1, %fc1_scales, %none, %fc2, %fc2_scales, %none, %none, %none, %none, %fc1_zero_points) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 4 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64}}
      : (tensor<?x2xf32>, tensor<?x1xf32>, tensor<1x2x1xui8>, tensor<1x2xf32>, none, tensor<1x2x1xui8>, tensor<1x2xf32>, none, none, none, none, tensor<1x1xui8>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
// CHECK: [[UP_VALUES]]: "0x0100000002070500"
// CHECK: [[UP_ZP_VALUES]]: "0x010000000103"
// CHECK: [[DOWN_VALUES]]: "0x0100000001FE"

// -----

// 8-bit codes with zero points (0 and 128, per row): ui8 codes transposed, [[1, 3], [2, 4]],
// beside ui8 zero points [[0, 128]].
// CHECK-LABEL: func.func @int8_zero_points
// CHECK: onnx.constant "qmoe.up_weight" dense_resource<[[UP_VALUES:.*]]> : tensor<1x2x2xui8>
// CHECK: onnx.constant "qmoe.up_weight_zero_points" dense_resource<[[UP_ZP_VALUES:.*]]> : tensor<1x1x2xui8>
// CHECK: moe.dequantize {{.*}} zero_points({{.*}} : tensor<1x1x2xui8>) : tensor<1x2x2xui8> -> tensor<1x2x2xf32>
// CHECK: moe.layer
func.func @int8_zero_points(%x: tensor<?x2xf32>, %l: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %fc = onnx.constant "fc" dense<[[[1, 2], [3, 4]]]> : tensor<1x2x2xui8>
  %scales = onnx.constant "scales" dense<[[0.5, 2.0]]> : tensor<1x2xf32>
  %zero_points = onnx.constant "zero_points" dense<[[0, 128]]> : tensor<1x2xui8>
  %none = onnx.none
  %y = onnx.node "QMoE"(%x, %l, %fc, %scales, %none, %fc, %scales, %none, %none, %none, %none, %zero_points) {domain = "com.microsoft", name = "qmoe", node_attrs = {k = 1 : i64, expert_weight_bits = 8 : i64}}
      : (tensor<?x2xf32>, tensor<?x1xf32>, tensor<1x2x2xui8>, tensor<1x2xf32>, none, tensor<1x2x2xui8>, tensor<1x2xf32>, none, none, none, none, tensor<1x2xui8>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
// CHECK: [[UP_VALUES]]: "0x0100000001030204"
// CHECK: [[UP_ZP_VALUES]]: "0x010000000080"
