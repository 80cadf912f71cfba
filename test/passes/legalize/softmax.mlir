// RUN: moe-opt %s -moec-legalize-onnx -split-input-file | FileCheck %s
// Softmax-like ops: a max and a sum of exp(x - max) over the normalized dimensions, read
// back at every position by one elementwise generic.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[KEPT:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @softmax_axis
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[KEPT]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: arith.maximumf
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[KEPT]], #[[KEPT]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: math.exp
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[KEPT]], #[[KEPT]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]} ins(%arg0, %[[MAX]], %[[SUM]] : tensor<2x?x5xf32>, tensor<2x5xf32>, tensor<2x5xf32>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.divf
func.func @softmax_axis(%x: tensor<2x?x5xf32>) -> tensor<2x?x5xf32> {
  %0 = onnx.node "Softmax"(%x) {node_attrs = {axis = 1 : i64}} : (tensor<2x?x5xf32>) -> tensor<2x?x5xf32>
  return %0 : tensor<2x?x5xf32>
}

// -----

// Before opset 13 the input is flattened to 2-D at the axis (default 1): every dimension
// from it on is normalized.
// CHECK-LABEL: func.func @softmax_opset11
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]
module attributes {onnx.opset_imports = {ai.onnx = 11 : i64}} {
  func.func @softmax_opset11(%x: tensor<2x3x5xf32>) -> tensor<2x3x5xf32> {
    %0 = onnx.node "Softmax"(%x) : (tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
    return %0 : tensor<2x3x5xf32>
  }
}

// -----

// LogSoftmax: x - max - log(sum), over the last axis by default.
// CHECK-LABEL: func.func @log_softmax
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: %[[SHIFTED:.*]] = arith.subf
// CHECK: %[[LOG:.*]] = math.log
// CHECK: arith.subf %[[SHIFTED]], %[[LOG]]
func.func @log_softmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = onnx.node "LogSoftmax"(%x) : (tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Hardmax: 1 where the position is the first maximum's.
// CHECK-LABEL: func.func @hardmax
// CHECK: %[[ARG:.*]]:2 = linalg.generic
// CHECK: arith.cmpi slt
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[ARG]]#1 : tensor<2x5xf32>, tensor<2xi64>)
// CHECK: %[[I:.*]] = linalg.index 1
// CHECK: arith.cmpi eq
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
func.func @hardmax(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  %0 = onnx.node "Hardmax"(%x) : (tensor<2x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Narrower floats are normalized in f32 and rounded back once.
// CHECK-LABEL: func.func @softmax_f16
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: math.exp %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @softmax_f16(%x: tensor<2x5xf16>) -> tensor<2x5xf16> {
  %0 = onnx.node "Softmax"(%x) : (tensor<2x5xf16>) -> tensor<2x5xf16>
  return %0 : tensor<2x5xf16>
}
