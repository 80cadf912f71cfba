// RUN: moe-opt %s -moec-legalize-onnx -split-input-file -verify-diagnostics | FileCheck %s
// ScatterElements and ScatterND from opset 18: reductions max and min (besides opset 16's
// add and mul), in the same sequential loop nest, so that repeated indices keep the
// extreme. Bool data orders false < true.

// CHECK-LABEL: func.func @scatter_elements_max
// CHECK: scf.for
// CHECK: scf.for
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK-LABEL: func.func @scatternd_min
// CHECK: scf.for
// CHECK: arith.minsi %{{.*}}, %{{.*}} : i32
// CHECK-LABEL: func.func @scatternd_max_bool
// CHECK: arith.maxui %{{.*}}, %{{.*}} : i1
module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  func.func @scatter_elements_max(%data: tensor<3x5xf32>, %indices: tensor<3x2xi64>, %updates: tensor<3x2xf32>) -> tensor<3x5xf32> {
    %0 = onnx.node "ScatterElements"(%data, %indices, %updates) {node_attrs = {axis = 1 : i64, reduction = "max"}} : (tensor<3x5xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x5xf32>
    return %0 : tensor<3x5xf32>
  }
  func.func @scatternd_min(%data: tensor<4x4xi32>, %indices: tensor<2x1xi64>, %updates: tensor<2x4xi32>) -> tensor<4x4xi32> {
    %0 = onnx.node "ScatterND"(%data, %indices, %updates) {node_attrs = {reduction = "min"}} : (tensor<4x4xi32>, tensor<2x1xi64>, tensor<2x4xi32>) -> tensor<4x4xi32>
    return %0 : tensor<4x4xi32>
  }
  func.func @scatternd_max_bool(%data: tensor<4xi1>, %indices: tensor<2x1xi64>, %updates: tensor<2xi1>) -> tensor<4xi1> {
    %0 = onnx.node "ScatterND"(%data, %indices, %updates) {node_attrs = {reduction = "max"}} : (tensor<4xi1>, tensor<2x1xi64>, tensor<2xi1>) -> tensor<4xi1>
    return %0 : tensor<4xi1>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  func.func @max_at_17(%data: tensor<3x5xf32>, %indices: tensor<3x2xi64>, %updates: tensor<3x2xf32>) -> tensor<3x5xf32> {
    // expected-error @+1 {{node 's' (ScatterElements): reduction 'max' is in the spec from opset 18 (the model imports opset 17)}}
    %0 = onnx.node "ScatterElements"(%data, %indices, %updates) {name = "s", node_attrs = {axis = 1 : i64, reduction = "max"}} : (tensor<3x5xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x5xf32>
    return %0 : tensor<3x5xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 13 : i64}} {
  func.func @add_at_13(%data: tensor<4x4xf32>, %indices: tensor<2x1xi64>, %updates: tensor<2x4xf32>) -> tensor<4x4xf32> {
    // expected-error @+1 {{node 's' (ScatterND): reduction 'add' is in the spec from opset 16 (the model imports opset 13)}}
    %0 = onnx.node "ScatterND"(%data, %indices, %updates) {name = "s", node_attrs = {reduction = "add"}} : (tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
    return %0 : tensor<4x4xf32>
  }
}
