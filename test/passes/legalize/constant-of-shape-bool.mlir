// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// A ConstantOfShape filled with a bool (transformers' attention masks) reads its fill as
// dense elements: LLVM holds no resource of bools, and ONNX stores one byte per bool.

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // CHECK-LABEL: func.func @main
  // CHECK-NOT: dense_resource
  // CHECK: arith.constant dense<true> : tensor<1xi1>
  // CHECK-NOT: dense_resource
  func.func @main(%s: tensor<2xi64>) -> tensor<?x?xi1> {
    %y = onnx.node "ConstantOfShape"(%s) {node_attrs = {value = dense_resource<fill> : tensor<1xi1>}} : (tensor<2xi64>) -> tensor<?x?xi1>
    return %y : tensor<?x?xi1>
  }
}

{-#
  dialect_resources: {
    builtin: {
      fill: "0x0100000001"
    }
  }
#-}
