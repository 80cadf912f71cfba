// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// Split from opset 18: without split sizes, num_outputs parts of ceil(size / num_outputs),
// the last one taking the rest (it may be shorter).

// Over a dynamic size, each part is min(ceil(size / 3), size - offset) long.
// CHECK-LABEL: func.func @num_outputs_dynamic
// CHECK: %[[SIZE:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?xf32>
// CHECK: %[[CEIL:.*]] = arith.ceildivui %[[SIZE]], %{{.*}} : index
// CHECK: %[[REST:.*]] = arith.subi %[[SIZE]], %{{.*}} : index
// CHECK: %[[PART:.*]] = arith.minui %[[CEIL]], %[[REST]] : index
// CHECK-COUNT-2: arith.minui
// CHECK: moe.check
// CHECK: tensor.extract_slice %arg0[%{{.*}}] [%[[PART]]] [1]
// CHECK: return
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @num_outputs_dynamic(%x: tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>) {
    %0:3 = onnx.node "Split"(%x) {node_attrs = {num_outputs = 3 : i64}} : (tensor<?xf32>) -> (tensor<?xf32>, tensor<?xf32>, tensor<?xf32>)
    return %0#0, %0#1, %0#2 : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>
  }
}

// -----

// 7 into 3: 3, 3 and 1, at offsets 0, 3 and 6.
// CHECK-LABEL: func.func @num_outputs_uneven
// CHECK: tensor.extract_slice %arg0[%{{.*}}] [3] [1] : tensor<7xf32> to tensor<3xf32>
// CHECK: tensor.extract_slice %arg0[%{{.*}}] [3] [1] : tensor<7xf32> to tensor<3xf32>
// CHECK: tensor.extract_slice %arg0[%{{.*}}] [1] [1] : tensor<7xf32> to tensor<1xf32>
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @num_outputs_uneven(%x: tensor<7xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<1xf32>) {
    %0:3 = onnx.node "Split"(%x) {node_attrs = {num_outputs = 3 : i64}} : (tensor<7xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<1xf32>)
    return %0#0, %0#1, %0#2 : tensor<3xf32>, tensor<3xf32>, tensor<1xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @num_outputs_mismatch(%x: tensor<6xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
    // expected-error @+1 {{node 's' (Split): num_outputs is 3, but the node has 2 outputs}}
    %0:2 = onnx.node "Split"(%x) {name = "s", node_attrs = {num_outputs = 3 : i64}} : (tensor<6xf32>) -> (tensor<3xf32>, tensor<3xf32>)
    return %0#0, %0#1 : tensor<3xf32>, tensor<3xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @num_outputs_and_split(%x: tensor<6xf32>) -> (tensor<2xf32>, tensor<4xf32>) {
    %split = arith.constant dense<[2, 4]> : tensor<2xi64>
    // expected-error @+1 {{node 's' (Split): num_outputs and a split input cannot both be given}}
    %0:2 = onnx.node "Split"(%x, %split) {name = "s", node_attrs = {num_outputs = 2 : i64}} : (tensor<6xf32>, tensor<2xi64>) -> (tensor<2xf32>, tensor<4xf32>)
    return %0#0, %0#1 : tensor<2xf32>, tensor<4xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  func.func @num_outputs_at_17(%x: tensor<6xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
    // expected-error @+1 {{node 's' (Split): num_outputs is an attribute from opset 18 (the model imports opset 17)}}
    %0:2 = onnx.node "Split"(%x) {name = "s", node_attrs = {num_outputs = 2 : i64}} : (tensor<6xf32>) -> (tensor<3xf32>, tensor<3xf32>)
    return %0#0, %0#1 : tensor<3xf32>, tensor<3xf32>
  }
}
