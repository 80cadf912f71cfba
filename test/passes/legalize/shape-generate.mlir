// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s

// Range's length depends on the data: max(0, ceil((limit - start) / delta)).
// CHECK-LABEL: func.func @range
// CHECK: %[[START:.*]] = tensor.extract %arg0[] : tensor<i32>
// CHECK: %[[LIMIT:.*]] = tensor.extract %arg1[] : tensor<i32>
// CHECK: %[[DELTA:.*]] = tensor.extract %arg2[] : tensor<i32>
// CHECK: %[[SPAN:.*]] = arith.subi %[[LIMIT]], %[[START]] : i32
// CHECK: %[[N:.*]] = arith.ceildivsi %[[SPAN]], %[[DELTA]] : i32
// CHECK: %[[NI:.*]] = arith.index_cast %[[N]] : i32 to index
// CHECK: %[[LEN:.*]] = arith.maxsi %[[NI]], %{{.*}} : index
// CHECK: tensor.generate %[[LEN]]
// CHECK: %[[I:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK: %[[STEP:.*]] = arith.muli %[[I]], %[[DELTA]] : i32
// CHECK: arith.addi %[[START]], %[[STEP]] : i32
func.func @range(%start: tensor<i32>, %limit: tensor<i32>, %delta: tensor<i32>) -> tensor<?xi32> {
  %0 = onnx.node "Range"(%start, %limit, %delta) : (tensor<i32>, tensor<i32>, tensor<i32>) -> tensor<?xi32>
  return %0 : tensor<?xi32>
}

// Trilu keeps the elements on or below diagonal k (lower) and zeroes the rest.
// CHECK-LABEL: func.func @tril
// CHECK: tensor.generate
// CHECK: ^bb0(%[[ROW:.*]]: index, %[[COL:.*]]: index):
// CHECK: %[[X:.*]] = tensor.extract %arg0[%[[ROW]], %[[COL]]] : tensor<3x4xf32>
// CHECK: %[[OFF:.*]] = arith.subi %[[COL]], %[[ROW]] : index
// CHECK: %[[KEEP:.*]] = arith.cmpi sle, %[[OFF]], %{{.*}} : index
// CHECK: arith.select %[[KEEP]], %[[X]], %{{.*}} : f32
func.func @tril(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %0 = onnx.node "Trilu"(%x) {node_attrs = {upper = 0 : i64}} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// Expand reads a size-1 input dimension at index 0.
// CHECK-LABEL: func.func @expand
// CHECK: tensor.generate
// CHECK: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// CHECK: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK: tensor.extract %arg0[%[[ZERO]], %[[J]]] : tensor<1x4xf32>
func.func @expand(%x: tensor<1x4xf32>, %shape: tensor<2xi64>) -> tensor<3x4xf32> {
  %0 = onnx.node "Expand"(%x, %shape) : (tensor<1x4xf32>, tensor<2xi64>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
