// RUN: moe-opt %s -canonicalize | FileCheck %s
// Routing among a single expert under softmax needs no router: every token goes to expert 0
// with weight one, times the routed scaling factor.

// CHECK-LABEL: func.func @single_expert
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[ONE:.*]] = arith.constant 2.500000e+00 : f32
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK: %[[T:.*]] = tensor.dim %arg0, %[[C0]] : tensor<?x1xf32>
// CHECK-DAG: %[[W:.*]] = tensor.splat %[[ONE]][%[[T]]] : tensor<?x1xf32>
// CHECK-DAG: %[[I:.*]] = tensor.splat %[[ZERO]][%[[T]]] : tensor<?x1xi32>
// CHECK-NOT: moe.route
// CHECK: return %[[W]], %[[I]]
func.func @single_expert(%l: tensor<?x1xf32>) -> (tensor<?x1xf32>, tensor<?x1xi32>) {
  %w, %i = moe.route %l routing <scoring = softmax, k = 1, routed_scaling_factor = 2.5>
             : tensor<?x1xf32> -> tensor<?x1xf32>, tensor<?x1xi32>
  return %w, %i : tensor<?x1xf32>, tensor<?x1xi32>
}

// A sigmoid score is not constant: the route stays.
// CHECK-LABEL: func.func @single_expert_sigmoid
// CHECK: moe.route
func.func @single_expert_sigmoid(%l: tensor<?x1xf32>) -> (tensor<?x1xf32>, tensor<?x1xi32>) {
  %w, %i = moe.route %l routing <scoring = sigmoid, k = 1>
             : tensor<?x1xf32> -> tensor<?x1xf32>, tensor<?x1xi32>
  return %w, %i : tensor<?x1xf32>, tensor<?x1xi32>
}

// With a capacity limit tokens can be dropped: the route stays.
// CHECK-LABEL: func.func @single_expert_with_capacity
// CHECK: moe.route
func.func @single_expert_with_capacity(%l: tensor<8x1xf32>) -> (tensor<8x1xf32>, tensor<8x1xi32>) {
  %w, %i = moe.route %l routing <scoring = softmax, k = 1, capacity_factor = 1.0>
             : tensor<8x1xf32> -> tensor<8x1xf32>, tensor<8x1xi32>
  return %w, %i : tensor<8x1xf32>, tensor<8x1xi32>
}
