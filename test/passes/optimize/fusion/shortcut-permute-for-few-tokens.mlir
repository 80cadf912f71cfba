// RUN: moe-opt %s -moec-shortcut-permute-for-few-tokens -split-input-file | FileCheck %s
// RUN: moe-opt %s -moec-shortcut-permute-for-few-tokens=max-tokens=4 -split-input-file | FileCheck %s --check-prefix=FOUR
// A decode step's pairs are laid out by counting; the permute stays for more tokens.

// A dynamic token count chooses at run time: counting for one token, the permute else.
// CHECK-LABEL: func.func @dynamic_tokens
// CHECK: %[[W:.*]], %[[IDS:.*]] = moe.route
// CHECK: %[[T:.*]] = tensor.dim %[[IDS]], %c0
// CHECK: %[[FEW:.*]] = arith.cmpi ule, %[[T]], %c1
// CHECK: %[[LAYOUT:.*]]:2 = scf.if %[[FEW]] -> (tensor<?xi32>, tensor<5xi32>) {
// CHECK: %[[PAIRS:.*]] = tensor.collapse_shape %[[IDS]] {{\[\[}}0, 1]] : tensor<?x2xi32> into tensor<?xi32>
// The slot of each pair: the pairs before it in expert order.
// CHECK: %[[SLOTS:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} ins(%[[PAIRS]], %[[PAIRS]] : tensor<?xi32>, tensor<?xi32>)
// The pair of each slot.
// CHECK: %[[SORTED:.*]] = linalg.generic {{.*}} ins(%[[SLOTS]] : tensor<?xi32>)
// The offsets: the pairs below each expert.
// CHECK: %[[OFFSETS:.*]] = linalg.generic {{.*}} ins(%[[PAIRS]] : tensor<?xi32>) outs(%{{.*}} : tensor<5xi32>)
// CHECK: scf.yield %[[SORTED]], %[[OFFSETS]]
// CHECK: } else {
// CHECK: %[[S:.*]], %[[O:.*]] = moe.permute %[[IDS]] experts 4 block 1
// CHECK: scf.yield %[[S]], %[[O]]
// CHECK: moe.grouped_matmul %{{.*}} offsets %[[LAYOUT]]#1 gather %[[LAYOUT]]#0, rows_per_token 2
// FOUR-LABEL: func.func @dynamic_tokens
// FOUR: arith.cmpi ule, %{{.*}}, %c4
func.func @dynamic_tokens(%x: tensor<?x16xf32>, %logits: tensor<?x4xf32>, %up: tensor<4x16x32xf32>) -> tensor<?x32xf32> {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 2
         : (tensor<?x16xf32>, tensor<4x16x32xf32>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

// One token, known statically: the counting alone.
// CHECK-LABEL: func.func @one_token
// CHECK-NOT: moe.permute
// CHECK-NOT: scf.if
// CHECK: return {{.*}} : tensor<2xi32>, tensor<5xi32>
func.func @one_token(%logits: tensor<1x4xf32>) -> (tensor<2xi32>, tensor<5xi32>) {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<1x4xf32> -> tensor<1x2xf32>, tensor<1x2xi32>
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<1x2xi32> -> tensor<2xi32>, tensor<5xi32>
  return %sorted, %offsets : tensor<2xi32>, tensor<5xi32>
}

// -----

// Many tokens known statically, segments padded to blocks, and ids that routing did not
// make (which may name no expert) keep the permute.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-3: moe.permute
// CHECK-NOT: scf.if
func.func @kept(%logits: tensor<8x4xf32>, %dynamic_logits: tensor<?x4xf32>, %ids: tensor<?x2xi32>)
    -> (tensor<16xi32>, tensor<?xi32>, tensor<?xi32>) {
  %w, %many = moe.route %logits routing <scoring = softmax, k = 2> : tensor<8x4xf32> -> tensor<8x2xf32>, tensor<8x2xi32>
  %s0, %o0 = moe.permute %many experts 4 block 1 : tensor<8x2xi32> -> tensor<16xi32>, tensor<5xi32>
  %w1, %padded = moe.route %dynamic_logits routing <scoring = softmax, k = 2> : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %s1, %o1 = moe.permute %padded experts 4 block 8 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %s2, %o2 = moe.permute %ids experts 4 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  return %s0, %s1, %s2 : tensor<16xi32>, tensor<?xi32>, tensor<?xi32>
}
