// RUN: moe-opt %s -moec-lower-moe-kernels-to-runtime | FileCheck %s
// A route with a router (the router fusion) calls the kernel that computes each token's
// logits itself: tokens, hidden size and experts, then the tokens, the router and its bias.

// CHECK-LABEL: func.func @route_tokens
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[ROUTER:.*]]: tensor<8x64xf32>, %[[BIAS:.*]]: tensor<8xf32>)
// CHECK-DAG: %[[NO_SCORE_BIAS:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-DAG: %[[H:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[E:.*]] = arith.constant 8 : i64
// CHECK: bufferization.to_buffer %[[X]] read_only
// CHECK: %[[X_PTR:.*]] = llvm.inttoptr
// CHECK: bufferization.to_buffer %[[ROUTER]] read_only
// CHECK: %[[ROUTER_PTR:.*]] = llvm.inttoptr
// CHECK: bufferization.to_buffer %[[BIAS]] read_only
// CHECK: %[[BIAS_PTR:.*]] = llvm.inttoptr
// CHECK: call @moec_rt_moe_route_tokens_f32(%{{.*}}, %[[H]], %[[E]], %[[X_PTR]], %[[ROUTER_PTR]], %[[BIAS_PTR]], %[[NO_SCORE_BIAS]],
// CHECK-NOT: moec_rt_moe_route_f32
func.func @route_tokens(%x: tensor<?x64xf32>, %router: tensor<8x64xf32>, %bias: tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = moe.route %x router(%router : tensor<8x64xf32>) router_bias(%bias : tensor<8xf32>) routing <scoring = softmax, k = 2> : tensor<?x64xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}
