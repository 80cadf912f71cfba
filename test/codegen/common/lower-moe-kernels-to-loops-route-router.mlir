// RUN: moe-opt %s -moec-lower-moe-kernels-to-loops | FileCheck %s
// A route with a router (the router fusion): a kernel of its own writes the logits into an
// f32 buffer, a thread per logit summing over the hidden size from the bias, and the
// routing kernel reads them from there.

// CHECK-LABEL: func.func @route_tokens
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[ROUTER:.*]]: tensor<8x64xf32>, %[[BIAS:.*]]: tensor<8xf32>)
// CHECK-DAG: %[[X_BUF:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK-DAG: %[[ROUTER_BUF:.*]] = bufferization.to_buffer %[[ROUTER]] read_only
// CHECK-DAG: %[[BIAS_BUF:.*]] = bufferization.to_buffer %[[BIAS]] read_only
// CHECK: %[[LOGITS:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK: scf.parallel
// CHECK: %[[INIT:.*]] = memref.load %[[BIAS_BUF]]
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]])
// CHECK-DAG: memref.load %[[X_BUF]]
// CHECK-DAG: memref.load %[[ROUTER_BUF]]
// CHECK: memref.store {{.*}}, %[[LOGITS]]
// CHECK: } {function = @moe_route_logits}
// CHECK: memref.load %[[LOGITS]]
// CHECK: } {function = @moe_route}
func.func @route_tokens(%x: tensor<?x64xf32>, %router: tensor<8x64xf32>, %bias: tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = moe.route %x router(%router : tensor<8x64xf32>) router_bias(%bias : tensor<8xf32>) routing <scoring = softmax, k = 2> : tensor<?x64xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}
