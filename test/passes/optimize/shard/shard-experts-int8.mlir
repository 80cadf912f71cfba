// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=1" | FileCheck %s
// Symmetric int8 experts shard as f32 ones do, their scales with them: 4 experts over 2
// ranks, and the module is rank 1's program, whose stacks hold experts 2 and 3 only (codes
// 3 and 4; up scales 3.0 = 0x40400000 and 4.0 = 0x40800000). The weights come through
// moe.dequantize, as moec-quantize-expert-weights leaves them: the codes are sharded, never
// the dequantized f32 weights.

// CHECK-LABEL: func.func @layer
// CHECK-DAG: %[[UP:.*]] = arith.constant dense_resource<[[UP_NAME:.*]]> : tensor<2x2x4xi8>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense_resource<{{.*}}> : tensor<2x2x2xi8>
// CHECK-DAG: %[[UP_SCALES:.*]] = arith.constant dense_resource<[[UP_SCALES_NAME:.*]]> : tensor<2x1x4xf32>
// CHECK-DAG: %[[DOWN_SCALES:.*]] = arith.constant dense_resource<{{.*}}> : tensor<2x1x2xf32>
// CHECK-NOT: moe.grouped_matmul
// CHECK-NOT: moe.dequantize
// CHECK: moe.expert_parallel %arg0, %arg1, %arg2, %[[UP]], %[[DOWN]] up_scales(%[[UP_SCALES]] : tensor<2x1x4xf32>) down_scales(%[[DOWN_SCALES]] : tensor<2x1x2xf32>) ranks 2 experts [0, 0, 1, 1] slots [0, 1, 0, 1]
// CHECK-DAG: [[UP_NAME]]: "0x{{........}}03030303030303030404040404040404"
// CHECK-DAG: [[UP_SCALES_NAME]]: "0x{{........}}0000404000004040000040400000404000008040000080400000804000008040"

func.func @layer(%x: tensor<?x2xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %up = arith.constant dense<[[[1, 1, 1, 1], [1, 1, 1, 1]], [[2, 2, 2, 2], [2, 2, 2, 2]],
                              [[3, 3, 3, 3], [3, 3, 3, 3]], [[4, 4, 4, 4], [4, 4, 4, 4]]]> : tensor<4x2x4xi8>
  %up_scales = arith.constant dense<[[[1.0, 1.0, 1.0, 1.0]], [[2.0, 2.0, 2.0, 2.0]],
                                     [[3.0, 3.0, 3.0, 3.0]], [[4.0, 4.0, 4.0, 4.0]]]> : tensor<4x1x4xf32>
  %down = arith.constant dense<[[[1, 1], [1, 1]], [[2, 2], [2, 2]], [[3, 3], [3, 3]], [[4, 4], [4, 4]]]> : tensor<4x2x2xi8>
  %down_scales = arith.constant dense<[[[0.5, 0.5]], [[0.25, 0.25]], [[0.125, 0.125]], [[2.0, 2.0]]]> : tensor<4x1x2xf32>
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %up_f32 = moe.dequantize %up scales(%up_scales : tensor<4x1x4xf32>) : tensor<4x2x4xi8> -> tensor<4x2x4xf32>
  %down_f32 = moe.dequantize %down scales(%down_scales : tensor<4x1x2xf32>) : tensor<4x2x2xi8> -> tensor<4x2x2xf32>
  %h = moe.grouped_matmul %x, %up_f32 offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = silu, gated = true>
         : (tensor<?x2xf32>, tensor<4x2x4xf32>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x2xf32>
  %o = moe.grouped_matmul %h, %down_f32 offsets %offsets
         : (tensor<?x2xf32>, tensor<4x2x2xf32>, tensor<5xi32>) -> tensor<?x2xf32>
  %y = moe.unpermute %o, %sorted, %w : (tensor<?x2xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
