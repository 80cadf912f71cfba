// RUN: moe-opt %s -moec-shard-experts="ranks=3 rank=2" | FileCheck %s
// Asymmetric int4 experts, codes and zero points unsigned through a bitcast (as legalization
// gives unsigned ONNX constants), shard at expert boundaries: 4 experts in blocks over 3
// ranks (2, 1, 1), stacks of 2, and rank 2's hold expert 3 (codes 4, zero points 8), then
// zeros. The 4-bit values take a byte each here; the host packs them two a byte later,
// within each expert, so a rank's packed slice starts on an expert boundary too.

// CHECK-LABEL: func.func @layer
// CHECK-DAG: %[[UP_CODES:.*]] = arith.constant dense_resource<[[UP_NAME:.*]]> : tensor<2x2x4xi4>
// CHECK-DAG: %[[UP:.*]] = tensor.bitcast %[[UP_CODES]] : tensor<2x2x4xi4> to tensor<2x2x4xui4>
// CHECK-DAG: %[[UP_ZERO_CODES:.*]] = arith.constant dense_resource<[[UP_ZERO_NAME:.*]]> : tensor<2x1x4xi4>
// CHECK-DAG: %[[UP_ZERO:.*]] = tensor.bitcast %[[UP_ZERO_CODES]] : tensor<2x1x4xi4> to tensor<2x1x4xui4>
// CHECK: moe.expert_parallel %arg0, %arg1, %arg2, %[[UP]], %{{.*}} up_scales(%{{.*}} : tensor<2x1x4xf32>) up_zero_points(%[[UP_ZERO]] : tensor<2x1x4xui4>) down_scales(%{{.*}} : tensor<2x1x2xf32>) down_zero_points(%{{.*}} : tensor<2x1x2xui4>) ranks 3 experts [0, 0, 1, 2] slots [0, 1, 0, 0]
// CHECK-DAG: [[UP_NAME]]: "0x{{........}}04040404040404040000000000000000"
// CHECK-DAG: [[UP_ZERO_NAME]]: "0x{{........}}0808080800000000"

func.func @layer(%x: tensor<?x2xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %up_codes = arith.constant dense<[[[1, 1, 1, 1], [1, 1, 1, 1]], [[2, 2, 2, 2], [2, 2, 2, 2]],
                                    [[3, 3, 3, 3], [3, 3, 3, 3]], [[4, 4, 4, 4], [4, 4, 4, 4]]]> : tensor<4x2x4xi4>
  %up = tensor.bitcast %up_codes : tensor<4x2x4xi4> to tensor<4x2x4xui4>
  %up_zero_codes = arith.constant dense<[[[5, 5, 5, 5]], [[6, 6, 6, 6]], [[7, 7, 7, 7]], [[-8, -8, -8, -8]]]> : tensor<4x1x4xi4>
  %up_zero = tensor.bitcast %up_zero_codes : tensor<4x1x4xi4> to tensor<4x1x4xui4>
  %up_scales = arith.constant dense<0.5> : tensor<4x1x4xf32>
  %down_codes = arith.constant dense<3> : tensor<4x2x2xi4>
  %down = tensor.bitcast %down_codes : tensor<4x2x2xi4> to tensor<4x2x2xui4>
  %down_zero_codes = arith.constant dense<2> : tensor<4x1x2xi4>
  %down_zero = tensor.bitcast %down_zero_codes : tensor<4x1x2xi4> to tensor<4x1x2xui4>
  %down_scales = arith.constant dense<0.25> : tensor<4x1x2xf32>
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 2
         scales(%up_scales : tensor<4x1x4xf32>) zero_points(%up_zero : tensor<4x1x4xui4>)
         expert <activation = silu, gated = true>
         : (tensor<?x2xf32>, tensor<4x2x4xui4>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x2xf32>
  %o = moe.grouped_matmul %h, %down offsets %offsets scales(%down_scales : tensor<4x1x2xf32>)
         zero_points(%down_zero : tensor<4x1x2xui4>)
         : (tensor<?x2xf32>, tensor<4x2x2xui4>, tensor<5xi32>) -> tensor<?x2xf32>
  %y = moe.unpermute %o, %sorted, %w : (tensor<?x2xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
