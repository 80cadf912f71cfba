// RUN: moe-opt %s -moec-decompose-moe-layers | FileCheck %s
// With weigh_inputs the routing weights scale the experts' inputs: every (token, slot) pair
// gets a row of its own, the token times its weight ([T, k, H] collapsed to [T * k, H]),
// which the gather reads one row per pair; the combine weighs the outputs by ones.
// moe.route computes the weights without the flag, which it does not take.

// CHECK-DAG: #[[TOKEN:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[WEIGHT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @llama4
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>,
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[W:.*]], %[[IDS:.*]] = moe.route %{{.*}} routing <scoring = sigmoid, k = 2, topk_first = true> :
// CHECK: %[[SORTED:.*]], %{{.*}} = moe.permute %[[IDS]]
// CHECK: %[[WEIGHED:.*]] = linalg.generic {indexing_maps = [#[[TOKEN]], #[[WEIGHT]], #{{.*}}], {{.*}}} ins(%[[X]], %[[W]] : tensor<?x16xf32>, tensor<?x2xf32>) outs(%{{.*}} : tensor<?x2x16xf32>)
// CHECK: arith.mulf
// CHECK: %[[PAIRS:.*]] = tensor.collapse_shape %[[WEIGHED]] {{\[}}[0, 1], [2]] : tensor<?x2x16xf32> into tensor<?x16xf32>
// CHECK: %[[ONES:.*]] = linalg.fill ins(%[[ONE]] : f32) outs(%{{.*}} : tensor<?x2xf32>)
// CHECK: moe.gather_rows %[[PAIRS]], %[[SORTED]], rows_per_token 1
// CHECK: %[[Y:.*]] = moe.unpermute %{{.*}}, %[[SORTED]], %[[ONES]]
// CHECK: return %[[Y]]
func.func @llama4(%x: tensor<?x16xf32>, %router: tensor<4x16xf32>, %up: tensor<4x16x64xf32>,
                  %down: tensor<4x32x16xf32>) -> tensor<?x16xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xf32>)
         routing <scoring = sigmoid, k = 2, topk_first = true, weigh_inputs = true>
         expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<4x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
