// RUN: moe-opt %s -moec-fuse-router-matmul-into-route -split-input-file | FileCheck %s
// The route computes its logits from the tokens itself; the router matmul, its transpose
// and its zeros go.

// CHECK-LABEL: func.func @router
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[ROUTER:.*]]: tensor<8x64xf32>, %[[SCORE_BIAS:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[W:.*]], %[[IDS:.*]] = moe.route %[[X]] router(%[[ROUTER]] : tensor<8x64xf32>) score_bias(%[[SCORE_BIAS]] : tensor<8xf32>) routing <scoring = sigmoid, k = 2, n_group = 4, topk_group = 2> : tensor<?x64xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
// CHECK-NEXT: return %[[W]], %[[IDS]]
func.func @router(%x: tensor<?x64xf32>, %router: tensor<8x64xf32>, %score_bias: tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %e = tensor.empty() : tensor<64x8xf32>
  %rt = linalg.transpose ins(%router : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>) permutation = [1, 0]
  %init = tensor.empty(%t) : tensor<?x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%init : tensor<?x8xf32>) -> tensor<?x8xf32>
  %logits = linalg.matmul ins(%x, %rt : tensor<?x64xf32>, tensor<64x8xf32>) outs(%z : tensor<?x8xf32>) -> tensor<?x8xf32>
  %w, %ids = moe.route %logits score_bias(%score_bias : tensor<8xf32>) routing <scoring = sigmoid, k = 2, n_group = 4, topk_group = 2> : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Logits that start from the broadcast router bias: the bias rides along.
// CHECK-LABEL: func.func @router_with_bias
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[ROUTER:.*]]: tensor<8x64xf32>, %[[BIAS:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[W:.*]], %[[IDS:.*]] = moe.route %[[X]] router(%[[ROUTER]] : tensor<8x64xf32>) router_bias(%[[BIAS]] : tensor<8xf32>) routing <scoring = softmax, k = 2> : tensor<4x64xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
// CHECK-NEXT: return %[[W]], %[[IDS]]
func.func @router_with_bias(%x: tensor<4x64xf32>, %router: tensor<8x64xf32>, %bias: tensor<8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>) {
  %e = tensor.empty() : tensor<64x8xf32>
  %rt = linalg.transpose ins(%router : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>) permutation = [1, 0]
  %init = tensor.empty() : tensor<4x8xf32>
  %b = linalg.broadcast ins(%bias : tensor<8xf32>) outs(%init : tensor<4x8xf32>) dimensions = [0]
  %logits = linalg.matmul ins(%x, %rt : tensor<4x64xf32>, tensor<64x8xf32>) outs(%b : tensor<4x8xf32>) -> tensor<4x8xf32>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w, %ids : tensor<4x2xf32>, tensor<4x2xi32>
}

// -----

// Routing computed outside the layer (a router_logits operand, com.microsoft.MoE's
// router_probs): no matmul to fold, the route stays.
// CHECK-LABEL: func.func @logits_from_outside
// CHECK-NEXT: moe.route %arg0 routing
func.func @logits_from_outside(%logits: tensor<4x8xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>) {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w, %ids : tensor<4x2xf32>, tensor<4x2xi32>
}

// -----

// Logits that something else reads too stay materialized, and the route reads them.
// CHECK-LABEL: func.func @logits_read_elsewhere
// CHECK: %[[LOGITS:.*]] = linalg.matmul
// CHECK: moe.route %[[LOGITS]] routing
// CHECK: return {{.*}}, %[[LOGITS]]
func.func @logits_read_elsewhere(%x: tensor<4x64xf32>, %router: tensor<8x64xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>, tensor<4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x8xf32>
  %rt = linalg.transpose ins(%router : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>) permutation = [1, 0]
  %init = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  %logits = linalg.matmul ins(%x, %rt : tensor<4x64xf32>, tensor<64x8xf32>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w, %ids, %logits : tensor<4x2xf32>, tensor<4x2xi32>, tensor<4x8xf32>
}

// -----

// A matmul that starts from something other than zeros or a bias (here ones) stays.
// CHECK-LABEL: func.func @logits_from_ones
// CHECK: %[[LOGITS:.*]] = linalg.matmul
// CHECK: moe.route %[[LOGITS]] routing
func.func @logits_from_ones(%x: tensor<4x64xf32>, %router: tensor<8x64xf32>) -> (tensor<4x2xf32>, tensor<4x2xi32>) {
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<64x8xf32>
  %rt = linalg.transpose ins(%router : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>) permutation = [1, 0]
  %init = tensor.empty() : tensor<4x8xf32>
  %o = linalg.fill ins(%one : f32) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  %logits = linalg.matmul ins(%x, %rt : tensor<4x64xf32>, tensor<64x8xf32>) outs(%o : tensor<4x8xf32>) -> tensor<4x8xf32>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w, %ids : tensor<4x2xf32>, tensor<4x2xi32>
}

// -----

// A router of 16-bit floats stays: the host kernel computes in f32.
// CHECK-LABEL: func.func @f16_router
// CHECK: %[[LOGITS:.*]] = linalg.matmul
// CHECK: moe.route %[[LOGITS]] routing
func.func @f16_router(%x: tensor<4x64xf16>, %router: tensor<8x64xf16>) -> (tensor<4x2xf16>, tensor<4x2xi32>) {
  %zero = arith.constant 0.0 : f16
  %e = tensor.empty() : tensor<64x8xf16>
  %rt = linalg.transpose ins(%router : tensor<8x64xf16>) outs(%e : tensor<64x8xf16>) permutation = [1, 0]
  %init = tensor.empty() : tensor<4x8xf16>
  %z = linalg.fill ins(%zero : f16) outs(%init : tensor<4x8xf16>) -> tensor<4x8xf16>
  %logits = linalg.matmul ins(%x, %rt : tensor<4x64xf16>, tensor<64x8xf16>) outs(%z : tensor<4x8xf16>) -> tensor<4x8xf16>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<4x8xf16> -> tensor<4x2xf16>, tensor<4x2xi32>
  return %w, %ids : tensor<4x2xf16>, tensor<4x2xi32>
}

// -----

// A 16-bit router multiplied into f32 logits stays: the fused route takes one element type.
// CHECK-LABEL: func.func @bf16_router_f32_tokens
// CHECK: %[[LOGITS:.*]] = linalg.matmul
// CHECK: moe.route %[[LOGITS]] routing
func.func @bf16_router_f32_tokens(%x: tensor<4x64xf32>, %router: tensor<8x64xbf16>) -> (tensor<4x2xf32>, tensor<4x2xi32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x8xbf16>
  %rt = linalg.transpose ins(%router : tensor<8x64xbf16>) outs(%e : tensor<64x8xbf16>) permutation = [1, 0]
  %init = tensor.empty() : tensor<4x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%init : tensor<4x8xf32>) -> tensor<4x8xf32>
  %logits = linalg.matmul ins(%x, %rt : tensor<4x64xf32>, tensor<64x8xbf16>) outs(%z : tensor<4x8xf32>) -> tensor<4x8xf32>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w, %ids : tensor<4x2xf32>, tensor<4x2xi32>
}
