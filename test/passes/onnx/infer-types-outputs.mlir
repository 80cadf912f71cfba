// RUN: moe-opt %s -moec-infer-types | FileCheck %s
// The graph's outputs keep their declared types: a more precise value goes through a
// tensor.cast; an output declared without a rank takes the inferred type.

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @main(%{{.*}}: tensor<4x8xf32>) -> (tensor<?x?xf32>, tensor<4x8xf32>)
  func.func @main(%x: tensor<4x8xf32>) -> (tensor<?x?xf32>, tensor<*xf32>) {
    // CHECK: %[[R:.*]] = onnx.node "Relu"{{.*}} -> tensor<4x8xf32>
    %r = onnx.node "Relu"(%x) : (tensor<4x8xf32>) -> tensor<?x?xf32>
    // CHECK: %[[S:.*]] = onnx.node "Sigmoid"{{.*}} -> tensor<4x8xf32>
    %s = onnx.node "Sigmoid"(%x) : (tensor<4x8xf32>) -> tensor<*xf32>
    // CHECK: %[[C:.*]] = tensor.cast %[[R]] : tensor<4x8xf32> to tensor<?x?xf32>
    // CHECK: return %[[C]], %[[S]]
    return %r, %s : tensor<?x?xf32>, tensor<*xf32>
  }
}
