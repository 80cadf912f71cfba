// RUN: moe-opt %s -split-input-file -moec-raise-ort-moe | FileCheck %s
// The raised weights hold exactly the node's weights in moe's layout (checked bytes: f32
// little endian after the blob's 4-byte alignment header).

// Current layout: fc1 [E, I, H] and fc2 [E, H, I] are transposed into [E, H, I] / [E, I, H].
// CHECK-LABEL: func.func @transposed
// CHECK: %[[UP:.*]] = onnx.constant "moe.up_weight" dense_resource<{{.*}}> : tensor<1x3x2xf32>
// CHECK: %[[DOWN:.*]] = onnx.constant "moe.down_weight" dense_resource<{{.*}}> : tensor<1x2x3xf32>
// CHECK: moe.layer %arg0, %[[UP]], %[[DOWN]] logits(%arg1 : tensor<?x1xf32>) routing <scoring = softmax, k = 1> expert <activation = relu>
func.func @transposed(%x: tensor<?x3xf32>, %l: tensor<?x1xf32>) -> tensor<?x3xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]> : tensor<1x2x3xf32>
  %fc2 = onnx.constant "fc2" dense<[[[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]]> : tensor<1x3x2xf32>
  %none = onnx.none
  %y = onnx.node "MoE"(%x, %l, %fc1, %none, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "relu"}}
      : (tensor<?x3xf32>, tensor<?x1xf32>, tensor<1x2x3xf32>, none, tensor<1x3x2xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}
// up = [[1, 4], [2, 5], [3, 6]]; down = [[7, 9, 11], [8, 10, 12]].
// CHECK: moe.up_weight{{"?}}: "0x040000000000803F00008040000000400000A040000040400000C040"
// CHECK: moe.down_weight{{"?}}: "0x040000000000E0400000104100003041000000410000204100004041"

// -----

// Interleaved SwiGLU (gate first): fc1's columns [g0, u0, g1, u1] become [g0, g1, u0, u1],
// and so do fc1's bias columns.
// CHECK-LABEL: func.func @deinterleaved
// CHECK: %[[UP:.*]] = onnx.constant "moe.up_weight" dense_resource<{{.*}}> : tensor<1x1x4xf32>
// CHECK: %[[BIAS:.*]] = onnx.constant "moe.up_bias" dense_resource<{{.*}}> : tensor<1x4xf32>
// CHECK: moe.layer %arg0, %[[UP]], %{{.*}} logits(%arg1 : tensor<?x1xf32>) up_bias(%[[BIAS]] : tensor<1x4xf32>) routing <scoring = softmax, k = 1> expert <activation = swiglu_clamped, gated = true, alpha = 1.702{{[0-9]*}}>
func.func @deinterleaved(%x: tensor<?x1xf32>, %l: tensor<?x1xf32>) -> tensor<?x1xf32> {
  %fc1 = onnx.constant "fc1" dense<[[[1.0], [2.0], [3.0], [4.0]]]> : tensor<1x4x1xf32>
  %b1 = onnx.constant "b1" dense<[[5.0, 6.0, 7.0, 8.0]]> : tensor<1x4xf32>
  %fc2 = onnx.constant "fc2" dense<[[[9.0, 10.0]]]> : tensor<1x1x2xf32>
  %y = onnx.node "MoE"(%x, %l, %fc1, %b1, %fc2) {domain = "com.microsoft", name = "moe", node_attrs = {k = 1 : i64, activation_type = "swiglu", swiglu_fusion = 1 : i64, activation_alpha = 1.702 : f32, activation_beta = 1.0 : f32, swiglu_limit = 7.0 : f32}}
      : (tensor<?x1xf32>, tensor<?x1xf32>, tensor<1x4x1xf32>, tensor<1x4xf32>, tensor<1x1x2xf32>) -> tensor<?x1xf32>
  return %y : tensor<?x1xf32>
}
// CHECK: moe.up_weight{{"?}}: "0x040000000000803F000040400000004000008040"
// CHECK: moe.up_bias{{"?}}: "0x040000000000A0400000E0400000C04000000041"
