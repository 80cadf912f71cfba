// RUN: moe-opt %s -moec-infer-types=check-declared-dims | FileCheck %s
// RUN: moe-opt %s -moec-infer-types | FileCheck %s --check-prefix=TRUSTED
// A node whose declared dims are more static than its inputs make them computes with the
// inferred type; its users get the declared one through moe.refine_shape, which
// legalization checks. Without the option the declaration is trusted.

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @main
  func.func @main(%x: tensor<?x3xf32>) -> tensor<4x3xf32> {
    // CHECK: %[[R:.*]] = onnx.node "Relu"{{.*}} -> tensor<?x3xf32>
    // CHECK: %[[D:.*]] = moe.refine_shape %[[R]], "node 'relu' (Relu): output 0" : tensor<?x3xf32> -> tensor<4x3xf32>
    // CHECK: onnx.node "Neg"(%[[D]])
    // TRUSTED: onnx.node "Relu"{{.*}} -> tensor<4x3xf32>
    // TRUSTED-NOT: moe.refine_shape
    %r = onnx.node "Relu"(%x) {name = "relu"} : (tensor<?x3xf32>) -> tensor<4x3xf32>
    %n = onnx.node "Neg"(%r) {name = "neg"} : (tensor<4x3xf32>) -> tensor<4x3xf32>
    return %n : tensor<4x3xf32>
  }
}
