// RUN: moe-opt %s -moec-infer-types | FileCheck %s
// Broadcasting ops take the numpy broadcast of their inputs' shapes; predicates give i1;
// Cast and BitCast take their `to` type; Where the type of its values.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @broadcast
  func.func @broadcast(%x: tensor<?x1x8xf32>, %y: tensor<5x1xf32>, %c: tensor<?x5x8xi1>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    // CHECK: "Add"{{.*}} -> tensor<?x5x8xf32>
    %a = onnx.node "Add"(%x, %y) : (tensor<?x1x8xf32>, tensor<5x1xf32>) -> !onnx.any
    // CHECK: "Less"{{.*}} -> tensor<?x5x8xi1>
    %l = onnx.node "Less"(%x, %y) : (tensor<?x1x8xf32>, tensor<5x1xf32>) -> !onnx.any
    // CHECK: "Sum"{{.*}} -> tensor<?x5x8xf32>
    %s = onnx.node "Sum"(%x, %y, %x) : (tensor<?x1x8xf32>, tensor<5x1xf32>, tensor<?x1x8xf32>) -> !onnx.any
    // CHECK: "Cast"{{.*}} -> tensor<?x1x8xbf16>
    %b = onnx.node "Cast"(%x) {node_attrs = {to = 16 : i64}} : (tensor<?x1x8xf32>) -> !onnx.any
    // CHECK: "BitCast"{{.*}} -> tensor<?x1x8xi32>
    %bits = onnx.node "BitCast"(%x) {node_attrs = {to = 6 : i64}} : (tensor<?x1x8xf32>) -> !onnx.any
    // CHECK: "CumProd"{{.*}} -> tensor<?x1x8xf32>
    %axis = onnx.constant "axis" dense<2> : tensor<i64>
    %prod = onnx.node "CumProd"(%x, %axis) : (tensor<?x1x8xf32>, tensor<i64>) -> !onnx.any
    // CHECK: "Where"{{.*}} -> tensor<?x5x8xf32>
    %w = onnx.node "Where"(%c, %x, %y) : (tensor<?x5x8xi1>, tensor<?x1x8xf32>, tensor<5x1xf32>) -> !onnx.any
    // CHECK: "Sigmoid"{{.*}} -> tensor<?x1x8xf32>
    %g = onnx.node "Sigmoid"(%x) : (tensor<?x1x8xf32>) -> !onnx.any
    return %a, %l, %s, %b, %w, %g : !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }

  // Integer arithmetic over known shape contents: torch's `x.size(0) * 2`.
  // CHECK-LABEL: func.func @shape_arithmetic
  func.func @shape_arithmetic(%x: tensor<3x?xf32>) -> !onnx.any {
    %s = onnx.node "Shape"(%x) : (tensor<3x?xf32>) -> tensor<2xi64>
    %two = onnx.constant "two" dense<2> : tensor<i64>
    %m = onnx.node "Mul"(%s, %two) : (tensor<2xi64>, tensor<i64>) -> tensor<2xi64>
    %z = onnx.node "ConstantOfShape"(%m) : (tensor<2xi64>) -> !onnx.any
    // CHECK: "ConstantOfShape"{{.*}} -> tensor<6x?xf32>
    return %z : !onnx.any
  }
}
