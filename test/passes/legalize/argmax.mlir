// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// ArgMax / ArgMin: one reduction over (value, position) pairs; the comparison prefers the
// better value, then on a tie the first (or, with select_last_index, the last) position.

// CHECK-LABEL: func.func @argmax_last_index
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<3x4xf32>) outs(%{{.*}}, %{{.*}} : tensor<3xf32>, tensor<3xi64>)
// CHECK: %[[I:.*]] = linalg.index 1 : index
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpi sgt
// CHECK: tensor.expand_shape %[[R]]#1 {{\[\[}}0, 1]] output_shape [3, 1] : tensor<3xi64> into tensor<3x1xi64>
func.func @argmax_last_index(%x: tensor<3x4xf32>) -> tensor<3x1xi64> {
  %0 = onnx.node "ArgMax"(%x) {node_attrs = {axis = -1 : i64, select_last_index = 1 : i64}} : (tensor<3x4xf32>) -> tensor<3x1xi64>
  return %0 : tensor<3x1xi64>
}

// CHECK-LABEL: func.func @argmin_first_index
// CHECK: arith.constant 0x7F800000 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]
// CHECK: arith.cmpf olt
// CHECK: arith.cmpi slt
// CHECK-NOT: tensor.expand_shape
func.func @argmin_first_index(%x: tensor<3x4xf32>) -> tensor<4xi64> {
  %0 = onnx.node "ArgMin"(%x) {node_attrs = {keepdims = 0 : i64}} : (tensor<3x4xf32>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}
