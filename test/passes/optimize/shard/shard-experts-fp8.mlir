// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=1" | FileCheck %s
// fp8 experts shard with their block scales whole: up weights [4, 4, 4] in 2 x 2 blocks
// (scales [4, 2, 2], 1.0 to 16.0 in order), and rank 1 of 2 holds experts 2 and 3: their
// codes (3.0 = 0x44, 4.0 = 0x48) and all 8 of their blocks' scales, 9.0 to 16.0, in order.

// CHECK-LABEL: func.func @layer
// CHECK-DAG: %[[UP:.*]] = arith.constant dense_resource<[[UP_NAME:.*]]> : tensor<2x4x4xf8E4M3FN>
// CHECK-DAG: %[[UP_SCALES:.*]] = arith.constant dense_resource<[[UP_SCALES_NAME:.*]]> : tensor<2x2x2xf32>
// CHECK: moe.expert_parallel %arg0, %arg1, %arg2, %[[UP]], %{{.*}} up_scales(%[[UP_SCALES]] : tensor<2x2x2xf32>) down_scales(%{{.*}} : tensor<2x1x1xf32>) ranks 2 experts [0, 0, 1, 1] slots [0, 1, 0, 1]
// CHECK-DAG: [[UP_NAME]]: "0x{{........}}4444444444444444444444444444444448484848484848484848484848484848"
// CHECK-DAG: [[UP_SCALES_NAME]]: "0x{{........}}0000104100002041000030410000404100005041000060410000704100008041"

func.func @layer(%x: tensor<?x4xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>) -> tensor<?x4xf32> {
  %up = arith.constant dense<[[[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]],
                              [[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]],
                              [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]],
                              [[4.0, 4.0, 4.0, 4.0], [4.0, 4.0, 4.0, 4.0], [4.0, 4.0, 4.0, 4.0], [4.0, 4.0, 4.0, 4.0]]]> : tensor<4x4x4xf8E4M3FN>
  %up_scales = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]],
                                     [[9.0, 10.0], [11.0, 12.0]], [[13.0, 14.0], [15.0, 16.0]]]> : tensor<4x2x2xf32>
  %down = arith.constant dense<1.0> : tensor<4x2x4xf8E4M3FN>
  %down_scales = arith.constant dense<0.5> : tensor<4x1x1xf32>
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 2
         scales(%up_scales : tensor<4x2x2xf32>) expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<4x4x4xf8E4M3FN>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x2xf32>
  %o = moe.grouped_matmul %h, %down offsets %offsets scales(%down_scales : tensor<4x1x1xf32>)
         : (tensor<?x2xf32>, tensor<4x2x4xf8E4M3FN>, tensor<5xi32>) -> tensor<?x4xf32>
  %y = moe.unpermute %o, %sorted, %w : (tensor<?x4xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
