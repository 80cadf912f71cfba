// RUN: moe-opt %s -moec-grouped-matmul-to-bf16 -split-input-file | FileCheck %s
// f32 grouped matmuls run in bf16: constant weights and biases are rounded at compile
// time, activations and the result are converted by elementwise generics.

// Dense constants round to nearest, ties to even: 1 + 2^-8 (a tie) goes down to 1,
// 1 + 3 * 2^-8 (a tie) up to 1 + 2^-6; the bias is rounded the same way.
// CHECK-LABEL: func.func @dense_weights
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, %[[OFFSETS:.*]]: tensor<3xi32>)
// (Printed as hex, little-endian: 0x3F80 0x3F80 0x3F82 0xC000 0x3F00...)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<"0x803F803F823F00C0003F{{.*}}"> : tensor<2x16x4xbf16>
// CHECK-DAG: %[[BIAS:.*]] = arith.constant dense<5.000000e-01> : tensor<2x4xbf16>
// CHECK: %[[X16:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<?x16xf32>) outs(%{{.*}} : tensor<?x16xbf16>)
// CHECK:   arith.truncf %{{.*}} : f32 to bf16
// CHECK: %[[Y16:.*]] = moe.grouped_matmul %[[X16]], %[[W]] offsets %[[OFFSETS]] bias(%[[BIAS]] : tensor<2x4xbf16>) expert <activation = relu> : (tensor<?x16xbf16>, tensor<2x16x4xbf16>, tensor<3xi32>) -> tensor<?x4xbf16>
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[Y16]] : tensor<?x4xbf16>) outs(%{{.*}} : tensor<?x4xf32>)
// CHECK:   arith.extf %{{.*}} : bf16 to f32
// CHECK: return %[[Y]]
func.func @dense_weights(%x: tensor<?x16xf32>, %offsets: tensor<3xi32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[[1.0, 1.00390625, 1.01171875, -2.0], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
                              [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
                              [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
                              [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]],
                             [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
                              [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
                              [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5],
                              [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]]> : tensor<2x16x4xf32>
  %b = arith.constant dense<0.5> : tensor<2x4xf32>
  %y = moe.grouped_matmul %x, %w offsets %offsets bias(%b : tensor<2x4xf32>) expert <activation = relu>
         : (tensor<?x16xf32>, tensor<2x16x4xf32>, tensor<3xi32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// -----

// An imported initializer (a dense resource) becomes a new resource of bf16 values:
// 1.0 (0x3F80), 1 + 2^-8 rounded to even (0x3F80), 1 + 3 * 2^-8 rounded up (0x3F82), and a
// NaN with a payload kept a quiet NaN (0x7FC0).
// CHECK-LABEL: func.func @resource_weights
// CHECK: %[[W:.*]] = arith.constant dense_resource<w_bf16> : tensor<1x2x2xbf16>
// CHECK: moe.grouped_matmul %{{.*}}, %[[W]] offsets
// CHECK: w_bf16: "0x08000000803F803F823FC07F"
func.func @resource_weights(%x: tensor<?x2xf32>, %offsets: tensor<2xi32>) -> tensor<?x2xf32> {
  %w = arith.constant dense_resource<w> : tensor<1x2x2xf32>
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x2xf32>, tensor<1x2x2xf32>, tensor<2xi32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F0080803F0080813F0100C07F"
    }
  }
#-}

// -----

// The up projection's bf16 result feeds the down projection directly (widening and
// rounding back is exact); weights that are not constants are rounded with the model.
// CHECK-LABEL: func.func @chained
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x8xbf16>, %[[UP:[^:]*]]: tensor<2x8x8xf32>, %[[DOWN:[^:]*]]: tensor<2x8x8xf32>
// CHECK: %[[UP16:.*]] = linalg.generic {{.*}} ins(%[[UP]] : tensor<2x8x8xf32>)
// CHECK: %[[H:.*]] = moe.grouped_matmul %{{.*}}, %[[UP16]]
// CHECK: %[[DOWN16:.*]] = linalg.generic {{.*}} ins(%[[DOWN]] : tensor<2x8x8xf32>)
// CHECK: %[[Y:.*]] = moe.grouped_matmul %[[H]], %[[DOWN16]] offsets
// CHECK: linalg.generic {{.*}} ins(%[[Y]] : tensor<?x8xbf16>) outs(%{{.*}} : tensor<?x8xf32>)
func.func @chained(%x: tensor<?x8xbf16>, %up: tensor<2x8x8xf32>, %down: tensor<2x8x8xf32>, %offsets: tensor<3xi32>) -> tensor<?x8xf32> {
  %xf = arith.extf %x : tensor<?x8xbf16> to tensor<?x8xf32>
  %h = moe.grouped_matmul %xf, %up offsets %offsets
         : (tensor<?x8xf32>, tensor<2x8x8xf32>, tensor<3xi32>) -> tensor<?x8xf32>
  %y = moe.grouped_matmul %h, %down offsets %offsets
         : (tensor<?x8xf32>, tensor<2x8x8xf32>, tensor<3xi32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Products already in bf16 or f16 keep their precision.
// CHECK-LABEL: func.func @already_narrow
// CHECK-NOT: linalg.generic
// CHECK: moe.grouped_matmul {{.*}} -> tensor<?x8xf16>
func.func @already_narrow(%x: tensor<?x8xf16>, %w: tensor<2x8x8xf16>, %offsets: tensor<3xi32>) -> tensor<?x8xf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x8xf16>, tensor<2x8x8xf16>, tensor<3xi32>) -> tensor<?x8xf16>
  return %y : tensor<?x8xf16>
}

// -----

// A shared expert's constant weights reach the grouped matmul reshaped to one expert:
// the constant (a resource, which the reshape does not fold into) is rounded and
// reshaped, not rounded with the model.
// CHECK-LABEL: func.func @shared_expert_weights
// CHECK: %[[W:.*]] = arith.constant dense_resource<shared_bf16> : tensor<2x2xbf16>
// CHECK: %[[W1:.*]] = tensor.expand_shape %[[W]] {{\[}}[0, 1], [2]] output_shape [1, 2, 2] : tensor<2x2xbf16> into tensor<1x2x2xbf16>
// CHECK: moe.grouped_matmul %{{.*}}, %[[W1]] offsets
// CHECK: shared_bf16: "0x08000000803F803F823FC07F"
func.func @shared_expert_weights(%x: tensor<?x2xf32>, %offsets: tensor<2xi32>) -> tensor<?x2xf32> {
  %w = arith.constant dense_resource<shared> : tensor<2x2xf32>
  %w1 = tensor.expand_shape %w [[0, 1], [2]] output_shape [1, 2, 2] : tensor<2x2xf32> into tensor<1x2x2xf32>
  %y = moe.grouped_matmul %x, %w1 offsets %offsets
         : (tensor<?x2xf32>, tensor<1x2x2xf32>, tensor<2xi32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      shared: "0x040000000000803F0080803F0080813F0100C07F"
    }
  }
#-}
