// RUN: moe-opt %s -moec-infer-types -split-input-file -verify-diagnostics
// A declared type that contradicts what the inputs give is an error on the node, and so
// are inputs that make the node invalid whatever the run-time values.

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

// -----

// Static sizes that cannot broadcast, whatever the dynamic ones turn out to be.
module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  func.func @main(%a: tensor<?x256xf32>, %b: tensor<?x64xf32>) -> tensor<*xf32> {
    // expected-error @+1 {{node 'add' (Add): input 1 of shape [?, 64] does not broadcast with the shape [?, 256] of the inputs before it}}
    %z = onnx.node "Add"(%a, %b) {name = "add"} : (tensor<?x256xf32>, tensor<?x64xf32>) -> tensor<*xf32>
    return %z : tensor<*xf32>
  }
}

// -----

// A constant index outside its static dimension.
module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  func.func @main(%data: tensor<4x3xf32>) -> tensor<*xf32> {
    %i = onnx.constant "i" dense<[1, 10]> : tensor<2xi64>
    // expected-error @+1 {{node 'gather' (Gather): index 10 is out of range for dimension 0 of data (size 4)}}
    %z = onnx.node "Gather"(%data, %i) {name = "gather"} : (tensor<4x3xf32>, tensor<2xi64>) -> tensor<*xf32>
    return %z : tensor<*xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @main(%x: tensor<?xf32>, %y: tensor<2xi64>) -> tensor<*xf32> {
    // expected-error @+1 {{node 'mm' (MatMul): its two inputs must have one element type, not f32 and i64}}
    %z = onnx.node "MatMul"(%x, %y) {name = "mm"} : (tensor<?xf32>, tensor<2xi64>) -> tensor<*xf32>
    return %z : tensor<*xf32>
  }
}
