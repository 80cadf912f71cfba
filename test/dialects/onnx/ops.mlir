// RUN: moe-opt %s | moe-opt | FileCheck %s

// CHECK-LABEL: func.func @roundtrip
func.func @roundtrip(%x: tensor<2x?xf32>, %c: tensor<i1>) -> (tensor<2x?xf32>, !onnx.any) {
  // CHECK: onnx.none
  %none = onnx.none
  // CHECK: onnx.constant "w" dense<1.000000e+00> : tensor<2xf32>
  %w = onnx.constant "w" dense<1.0> : tensor<2xf32>
  // CHECK: onnx.node "Clip"(%{{.*}}, %{{.*}}, %{{.*}}) {name = "clip"}
  %y = onnx.node "Clip"(%x, %none, %w) {name = "clip"} : (tensor<2x?xf32>, none, tensor<2xf32>) -> tensor<2x?xf32>
  // CHECK: onnx.node "If"(%{{.*}}) {node_attrs = {else_branch = #onnx.graph<1>, then_branch = #onnx.graph<0>}} subgraphs
  // CHECK: onnx.yield %{{.*}} : tensor<2x?xf32>
  %z = onnx.node "If"(%c) {node_attrs = {then_branch = #onnx.graph<0>, else_branch = #onnx.graph<1>}} subgraphs {
    onnx.yield %y : tensor<2x?xf32>
  }, {
    %s = onnx.node "FusedThing"(%y) {domain = "com.microsoft"} : (tensor<2x?xf32>) -> !onnx.seq<tensor<?xf32>>
    onnx.yield %s : !onnx.seq<tensor<?xf32>>
  } : (tensor<i1>) -> !onnx.any
  return %y, %z : tensor<2x?xf32>, !onnx.any
}

// CHECK-LABEL: func.func private @function
// CHECK: node_attrs = {alpha = #onnx.attr_ref<"slope">}
func.func private @function(%a: !onnx.any) -> !onnx.any {
  %b = onnx.node "LeakyRelu"(%a) {node_attrs = {alpha = #onnx.attr_ref<"slope">}} : (!onnx.any) -> !onnx.any
  return %b : !onnx.any
}

// CHECK-LABEL: func.func @types
// CHECK-SAME: tensor<3x!onnx.string>, %{{.*}}: !onnx.map<i64, tensor<f32>>, %{{.*}}: !onnx.opt<!onnx.seq<tensor<i8>>>
func.func @types(%a: tensor<3x!onnx.string>, %b: !onnx.map<i64, tensor<f32>>, %c: !onnx.opt<!onnx.seq<tensor<i8>>>) {
  return
}
