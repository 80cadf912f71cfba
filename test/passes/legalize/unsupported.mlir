// RUN: moe-opt %s -moec-legalize-onnx -verify-diagnostics -split-input-file
// Nodes that nothing legalizes are all named at once, with their op type.

func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{node 'mystery' (FancyOp): moec cannot compile ONNX op 'FancyOp' yet}}
  %0 = onnx.node "FancyOp"(%a) {name = "mystery"} : (tensor<4xf32>) -> tensor<4xf32>
  // expected-error @+1 {{node 'contrib' (FusedThing): moec cannot compile op 'FusedThing' of domain 'com.microsoft'}}
  %1 = onnx.node "FusedThing"(%0) {name = "contrib", domain = "com.microsoft"} : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

func.func @main(%a: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{node 'relu' (Relu): output 0 has type tensor<*xf32>; only ranked tensors (known ranks after shape inference) compile}}
  %0 = onnx.node "Relu"(%a) {name = "relu"} : (tensor<*xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}
