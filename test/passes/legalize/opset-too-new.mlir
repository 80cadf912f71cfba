// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// A model of a default-domain opset newer than the legalizations follow is refused, since a
// later opset may have changed what its ops compute; up to that opset it compiles.

// expected-error @+1 {{the model uses opset 29 of the default ONNX domain; moec compiles opsets up to 28}}
module attributes {onnx.opset_imports = {ai.onnx = 29 : i64}} {
  func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
    %y = onnx.node "Relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
    return %y : tensor<4xf32>
  }
}

// -----

// CHECK-LABEL: func.func @main
// CHECK-NOT: onnx.node
module attributes {onnx.opset_imports = {ai.onnx = 28 : i64, com.microsoft = 1 : i64}} {
  func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
    %y = onnx.node "Relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
    return %y : tensor<4xf32>
  }
}
