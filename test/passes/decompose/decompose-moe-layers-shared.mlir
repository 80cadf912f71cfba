// RUN: moe-opt %s -moec-decompose-moe-layers -split-input-file | FileCheck %s
// A shared expert runs the routed experts' grouped matmuls with one expert that every
// token takes (weights expanded to [1, ...], offsets [0, T]); its output is added to the
// routed result, scaled by sigmoid(tokens @ shared_gate) if there is a gate.

// CHECK-LABEL: func.func @shared_without_gate
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, {{.*}}, %[[SU:.*]]: tensor<16x16xf32>, %[[SD:.*]]: tensor<8x16xf32>)
// CHECK: %[[ROUTED:.*]] = moe.unpermute
// CHECK: %[[T:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK: %[[OFFSETS:.*]] = tensor.from_elements %{{.*}}, %[[T]] : tensor<2xi32>
// CHECK: %[[UP1:.*]] = tensor.expand_shape %[[SU]] {{\[}}[0, 1], [2]] output_shape [1, 16, 16] : tensor<16x16xf32> into tensor<1x16x16xf32>
// CHECK: %[[DOWN1:.*]] = tensor.expand_shape %[[SD]] {{\[}}[0, 1], [2]] output_shape [1, 8, 16] : tensor<8x16xf32> into tensor<1x8x16xf32>
// CHECK: %[[GU:.*]] = moe.grouped_matmul %[[X]], %[[UP1]] offsets %[[OFFSETS]] : (tensor<?x16xf32>, tensor<1x16x16xf32>, tensor<2xi32>) -> tensor<?x16xf32>
// CHECK: %[[H:.*]] = moe.expert_activation %[[GU]] expert <activation = silu, gated = true> : tensor<?x16xf32> -> tensor<?x8xf32>
// CHECK: %[[SHARED:.*]] = moe.grouped_matmul %[[H]], %[[DOWN1]] offsets %[[OFFSETS]] : (tensor<?x8xf32>, tensor<1x8x16xf32>, tensor<2xi32>) -> tensor<?x16xf32>
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[ROUTED]], %[[SHARED]] : tensor<?x16xf32>, tensor<?x16xf32>)
// CHECK-NEXT: ^bb0(%[[R:.*]]: f32, %[[S:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[ADD:.*]] = arith.addf %[[R]], %[[S]] : f32
// CHECK-NEXT: linalg.yield %[[ADD]]
// CHECK: return %[[SUM]]
func.func @shared_without_gate(%x: tensor<?x16xf32>, %router: tensor<4x16xf32>, %up: tensor<4x16x64xf32>,
                               %down: tensor<4x32x16xf32>, %su: tensor<16x16xf32>, %sd: tensor<8x16xf32>) -> tensor<?x16xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xf32>) shared(%su, %sd : tensor<16x16xf32>, tensor<8x16xf32>)
         routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<4x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// CHECK-DAG: #[[IDENTITY:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @shared_with_gate
// CHECK-SAME: (%[[X:.*]]: tensor<5x16xf32>, {{.*}}, %[[SG:.*]]: tensor<16x1xf32>)
// CHECK: %[[ROUTED:.*]] = moe.unpermute
// CHECK: %[[SHARED:.*]] = moe.grouped_matmul %{{.*}}, %{{.*}} offsets %{{.*}} : (tensor<5x8xf32>, tensor<1x8x16xf32>, tensor<2xi32>) -> tensor<5x16xf32>
// CHECK: %[[GATE:.*]] = linalg.matmul ins(%[[X]], %[[SG]] : tensor<5x16xf32>, tensor<16x1xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[IDENTITY]], #[[IDENTITY]], #[[ROW]], #[[IDENTITY]]], {{.*}}} ins(%[[ROUTED]], %[[SHARED]], %[[GATE]] : tensor<5x16xf32>, tensor<5x16xf32>, tensor<5x1xf32>)
// CHECK-NEXT: ^bb0(%[[R:.*]]: f32, %[[S:.*]]: f32, %[[G:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[NEG:.*]] = arith.negf %[[G]]
// CHECK-NEXT: %[[EXP:.*]] = math.exp %[[NEG]]
// CHECK-NEXT: %[[DEN:.*]] = arith.addf %[[EXP]], %{{.*}}
// CHECK-NEXT: %[[SCALED:.*]] = arith.divf %[[S]], %[[DEN]]
// CHECK-NEXT: %[[ADD:.*]] = arith.addf %[[R]], %[[SCALED]]
// CHECK-NEXT: linalg.yield %[[ADD]]
func.func @shared_with_gate(%x: tensor<5x16xf32>, %router: tensor<4x16xf32>, %up: tensor<4x16x32xf32>,
                            %down: tensor<4x32x16xf32>, %su: tensor<16x8xf32>, %sd: tensor<8x16xf32>,
                            %sg: tensor<16x1xf32>) -> tensor<5x16xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xf32>) shared(%su, %sd : tensor<16x8xf32>, tensor<8x16xf32>)
         shared_gate(%sg : tensor<16x1xf32>)
         routing <scoring = softmax, k = 1> expert <activation = relu>
         : (tensor<5x16xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<5x16xf32>
  return %y : tensor<5x16xf32>
}
