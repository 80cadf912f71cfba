// RUN: moe-opt %s -moec-infer-types -split-input-file -verify-diagnostics
// A declared type that contradicts what the inputs give is an error on the node.

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  func.func @main(%x: tensor<4x8xf32>, %y: tensor<8x3xf32>) -> tensor<4x5xf32> {
    // expected-error @+1 {{node 'mm' (MatMul): output 0 is declared as 'tensor<4x5xf32>', but its inputs make it 'tensor<4x3xf32>'}}
    %z = onnx.node "MatMul"(%x, %y) {name = "mm"} : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x5xf32>
    return %z : tensor<4x5xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf16> {
    // expected-error @+1 {{node '<unnamed>' (Relu): output 0 is declared as 'tensor<4x8xf16>', but its inputs make it 'tensor<4x8xf32>'}}
    %z = onnx.node "Relu"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf16>
    return %z : tensor<4x8xf16>
  }
}
