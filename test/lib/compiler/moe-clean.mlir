// RUN: moe-opt %s --moe-clean | FileCheck %s
// The Clean stage infers the types the importer left unknown.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @add
  // CHECK: "Add"{{.*}} -> tensor<?x5x8xf32>
  func.func @add(%x: tensor<?x1x8xf32>, %y: tensor<5x1xf32>) -> !onnx.any {
    %a = onnx.node "Add"(%x, %y) : (tensor<?x1x8xf32>, tensor<5x1xf32>) -> !onnx.any
    return %a : !onnx.any
  }
}
