// RUN: moe-opt %s -moec-decompose-moe-layers -split-input-file | FileCheck %s
// RUN: moe-opt %s -moec-decompose-moe-layers=block-size=4 -split-input-file | FileCheck %s --check-prefix=BLOCK
// moe.layer becomes router logits, moe.route, moe.permute, the plain form of the expert
// MLPs on the sorted layout (the permuted copy, the up grouped matmul, the activation, the
// down grouped matmul), and moe.unpermute.

// CHECK-LABEL: func.func @gated_dynamic_tokens
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, %[[ROUTER:.*]]: tensor<4x16xf32>, %[[UP:.*]]: tensor<4x16x64xf32>, %[[DOWN:.*]]: tensor<4x32x16xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.0
// CHECK: %[[T:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[ROUTER_T:.*]] = linalg.transpose ins(%[[ROUTER]] : tensor<4x16xf32>) outs(%{{.*}} : tensor<16x4xf32>) permutation = [1, 0]
// CHECK: %[[EMPTY:.*]] = tensor.empty(%[[T]]) : tensor<?x4xf32>
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[EMPTY]] : tensor<?x4xf32>)
// CHECK: %[[LOGITS:.*]] = linalg.matmul ins(%[[X]], %[[ROUTER_T]] : {{.*}}) outs(%[[INIT]] : tensor<?x4xf32>)
// CHECK: %[[W:.*]], %[[IDS:.*]] = moe.route %[[LOGITS]] routing <scoring = softmax, k = 2, renormalize = true> : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
// CHECK: %[[SORTED:.*]], %[[OFFSETS:.*]] = moe.permute %[[IDS]] experts 4 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
// CHECK: %[[ROWS:.*]] = moe.gather_rows %[[X]], %[[SORTED]], rows_per_token 2 : (tensor<?x16xf32>, tensor<?xi32>) -> tensor<?x16xf32>
// CHECK: %[[GU:.*]] = moe.grouped_matmul %[[ROWS]], %[[UP]] offsets %[[OFFSETS]] : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<5xi32>) -> tensor<?x64xf32>
// CHECK: %[[H:.*]] = moe.expert_activation %[[GU]] expert <activation = silu, gated = true> : tensor<?x64xf32> -> tensor<?x32xf32>
// CHECK: %[[OUT:.*]] = moe.grouped_matmul %[[H]], %[[DOWN]] offsets %[[OFFSETS]] : (tensor<?x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<?x16xf32>
// CHECK: %[[Y:.*]] = moe.unpermute %[[OUT]], %[[SORTED]], %[[W]] : (tensor<?x16xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x16xf32>
// CHECK: return %[[Y]]
// BLOCK-LABEL: func.func @gated_dynamic_tokens
// BLOCK: moe.permute %{{.*}} experts 4 block 4 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
func.func @gated_dynamic_tokens(%x: tensor<?x16xf32>, %router: tensor<4x16xf32>, %up: tensor<4x16x64xf32>,
                                %down: tensor<4x32x16xf32>) -> tensor<?x16xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xf32>)
         routing <scoring = softmax, k = 2, renormalize = true>
         expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<4x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Router bias initializes the logits; score_bias goes to moe.route; the expert biases to
// their grouped matmuls. With static tokens the sorted layout has its worst-case size.
// CHECK-LABEL: func.func @ungated_with_biases
// CHECK-SAME: (%[[X:.*]]: tensor<3x16xf32>, %[[ROUTER:.*]]: tensor<4x16xf32>, %[[UP:.*]]: tensor<4x16x32xf32>, %[[DOWN:.*]]: tensor<4x32x16xf32>, %[[RB:.*]]: tensor<4xf32>, %[[SB:.*]]: tensor<4xf32>, %[[UB:.*]]: tensor<4x32xf32>, %[[DB:.*]]: tensor<4x16xf32>)
// CHECK: %[[INIT:.*]] = linalg.broadcast ins(%[[RB]] : tensor<4xf32>) outs(%{{.*}} : tensor<3x4xf32>) dimensions = [0]
// CHECK: %[[LOGITS:.*]] = linalg.matmul ins(%[[X]], %{{.*}} : tensor<3x16xf32>, tensor<16x4xf32>) outs(%[[INIT]] : tensor<3x4xf32>)
// CHECK: %[[W:.*]], %[[IDS:.*]] = moe.route %[[LOGITS]] score_bias(%[[SB]] : tensor<4xf32>) routing <scoring = sigmoid, k = 2, n_group = 2, routed_scaling_factor = 2.5
// CHECK: %[[SORTED:.*]], %[[OFFSETS:.*]] = moe.permute %[[IDS]] experts 4 block 1 : tensor<3x2xi32> -> tensor<6xi32>, tensor<5xi32>
// CHECK: %[[ROWS:.*]] = moe.gather_rows %[[X]], %[[SORTED]], rows_per_token 2 : (tensor<3x16xf32>, tensor<6xi32>) -> tensor<6x16xf32>
// CHECK: %[[U:.*]] = moe.grouped_matmul %[[ROWS]], %[[UP]] offsets %[[OFFSETS]] bias(%[[UB]] : tensor<4x32xf32>) : ({{.*}}) -> tensor<6x32xf32>
// CHECK: %[[H:.*]] = moe.expert_activation %[[U]] expert <activation = gelu> : tensor<6x32xf32> -> tensor<6x32xf32>
// CHECK: %[[OUT:.*]] = moe.grouped_matmul %[[H]], %[[DOWN]] offsets %[[OFFSETS]] bias(%[[DB]] : tensor<4x16xf32>) : ({{.*}}) -> tensor<6x16xf32>
// CHECK: moe.unpermute %[[OUT]], %[[SORTED]], %[[W]] : (tensor<6x16xf32>, tensor<6xi32>, tensor<3x2xf32>) -> tensor<3x16xf32>
// BLOCK-LABEL: func.func @ungated_with_biases
// BLOCK: moe.permute %{{.*}} experts 4 block 4 : tensor<3x2xi32> -> tensor<18xi32>, tensor<5xi32>
func.func @ungated_with_biases(%x: tensor<3x16xf32>, %router: tensor<4x16xf32>, %up: tensor<4x16x32xf32>,
                               %down: tensor<4x32x16xf32>, %rb: tensor<4xf32>, %sb: tensor<4xf32>,
                               %ub: tensor<4x32xf32>, %db: tensor<4x16xf32>) -> tensor<3x16xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xf32>) router_bias(%rb : tensor<4xf32>) score_bias(%sb : tensor<4xf32>)
         up_bias(%ub : tensor<4x32xf32>) down_bias(%db : tensor<4x16xf32>)
         routing <scoring = sigmoid, k = 2, n_group = 2, topk_group = 1, routed_scaling_factor = 2.5>
         expert <activation = gelu>
         : (tensor<3x16xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}
