// RUN: moe-opt %s | moe-opt | FileCheck %s
// The kernel-level ops round-trip, chained as a lowered layer chains them.

// CHECK-LABEL: func.func @lowered_layer
func.func @lowered_layer(%x: tensor<4x64xf32>, %logits: tensor<4x8xf32>, %bias: tensor<8xf32>,
                         %up: tensor<8x64x256xf32>, %down: tensor<8x128x64xf32>) -> tensor<4x64xf32> {
  // CHECK: %[[W:.*]], %[[IDS:.*]] = moe.route %arg1 score_bias(%arg2 : tensor<8xf32>) routing <scoring = sigmoid, k = 2, renormalize = true> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  %w, %ids = moe.route %logits score_bias(%bias : tensor<8xf32>) routing <scoring = sigmoid, k = 2, renormalize = true>
               : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  // CHECK: %[[SORTED:.*]], %[[OFFSETS:.*]] = moe.permute %[[IDS]] experts 8 block 16 : tensor<4x2xi32> -> tensor<128xi32>, tensor<9xi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 16 : tensor<4x2xi32> -> tensor<128xi32>, tensor<9xi32>
  // CHECK: %[[H:.*]] = moe.grouped_matmul %arg0, %arg3 offsets %[[OFFSETS]] gather %[[SORTED]], rows_per_token 2 expert <activation = silu, gated = true> : (tensor<4x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<128xi32>) -> tensor<128x128xf32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 2 expert <activation = silu, gated = true>
         : (tensor<4x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<128xi32>) -> tensor<128x128xf32>
  // CHECK: %[[OUT:.*]] = moe.grouped_matmul %[[H]], %arg4 offsets %[[OFFSETS]] : (tensor<128x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<128x64xf32>
  %out = moe.grouped_matmul %h, %down offsets %offsets
           : (tensor<128x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<128x64xf32>
  // CHECK: moe.unpermute %[[OUT]], %[[SORTED]], %[[W]] : (tensor<128x64xf32>, tensor<128xi32>, tensor<4x2xf32>) -> tensor<4x64xf32>
  %y = moe.unpermute %out, %sorted, %w : (tensor<128x64xf32>, tensor<128xi32>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// CHECK-LABEL: func.func @combining_down_projection
func.func @combining_down_projection(%h: tensor<?x128xf32>, %down: tensor<8x128x64xf32>, %offsets: tensor<9xi32>,
                                     %sorted: tensor<?xi32>, %w: tensor<?x2xf32>) -> tensor<?x64xf32> {
  // CHECK: moe.grouped_matmul %arg0, %arg1 offsets %arg2 combine(%arg3, %arg4 : tensor<?xi32>, tensor<?x2xf32>) : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
  %y = moe.grouped_matmul %h, %down offsets %offsets combine(%sorted, %w : tensor<?xi32>, tensor<?x2xf32>)
         : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @dynamic_tokens
func.func @dynamic_tokens(%logits: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?xi32>, tensor<9xi32>) {
  // CHECK: moe.route %arg0 routing <scoring = softmax, k = 2> : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  // CHECK: moe.permute %{{.*}} experts 8 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  return %w, %sorted, %offsets : tensor<?x2xf32>, tensor<?xi32>, tensor<9xi32>
}

// CHECK-LABEL: func.func @int4_weights_with_bias_and_scales
func.func @int4_weights_with_bias_and_scales(%x: tensor<?x64xf16>, %w: tensor<8x64x32xi4>, %sorted: tensor<?xi32>,
                                             %offsets: tensor<9xi32>, %b: tensor<8x32xf16>, %s: tensor<8x2x32xf16>) -> tensor<?x32xf16> {
  // CHECK: moe.grouped_matmul %arg0, %arg1 offsets %arg3 gather %arg2, rows_per_token 2 bias(%arg4 : tensor<8x32xf16>) scales(%arg5 : tensor<8x2x32xf16>) expert <activation = gelu> : (tensor<?x64xf16>, tensor<8x64x32xi4>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x32xf16>
  %h = moe.grouped_matmul %x, %w offsets %offsets gather %sorted, rows_per_token 2 bias(%b : tensor<8x32xf16>) scales(%s : tensor<8x2x32xf16>) expert <activation = gelu>
         : (tensor<?x64xf16>, tensor<8x64x32xi4>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x32xf16>
  return %h : tensor<?x32xf16>
}

// The plain form of the up projection: the permuted copy, the GEMM without epilogue, the
// activation.
// CHECK-LABEL: func.func @plain_up_projection
func.func @plain_up_projection(%x: tensor<4x64xf32>, %up: tensor<8x64x256xf32>, %offsets: tensor<9xi32>,
                               %sorted: tensor<128xi32>) -> tensor<128x128xf32> {
  // CHECK: %[[ROWS:.*]] = moe.gather_rows %arg0, %arg3, rows_per_token 2 : (tensor<4x64xf32>, tensor<128xi32>) -> tensor<128x64xf32>
  %rows = moe.gather_rows %x, %sorted, rows_per_token 2 : (tensor<4x64xf32>, tensor<128xi32>) -> tensor<128x64xf32>
  // CHECK: %[[GU:.*]] = moe.grouped_matmul %[[ROWS]], %arg1 offsets %arg2 : (tensor<128x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>) -> tensor<128x256xf32>
  %gu = moe.grouped_matmul %rows, %up offsets %offsets : (tensor<128x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>) -> tensor<128x256xf32>
  // CHECK: moe.expert_activation %[[GU]] expert <activation = silu, gated = true> : tensor<128x256xf32> -> tensor<128x128xf32>
  %h = moe.expert_activation %gu expert <activation = silu, gated = true> : tensor<128x256xf32> -> tensor<128x128xf32>
  return %h : tensor<128x128xf32>
}
