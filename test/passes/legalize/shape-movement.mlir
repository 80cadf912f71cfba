// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s

// Shape is a from_elements of the sizes, so that folding sees each one.
// CHECK-LABEL: func.func @shape
// CHECK: %[[D:.*]] = tensor.dim %arg0, %{{.*}} : tensor<?x4xf32>
// CHECK: %[[D64:.*]] = arith.index_cast %[[D]] : index to i64
// CHECK: %[[S64:.*]] = arith.index_cast %{{.*}} : index to i64
// CHECK: tensor.from_elements %[[D64]], %[[S64]] : tensor<2xi64>
func.func @shape(%x: tensor<?x4xf32>) -> tensor<2xi64> {
  %0 = onnx.node "Shape"(%x) : (tensor<?x4xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// Concat copies each input into its slice of a buffer of its own (alloc_tensor, which CSE
// does not merge with another concatenation's).
// CHECK-LABEL: func.func @concat
// CHECK: %[[E:.*]] = bufferization.alloc_tensor() : tensor<2x8xf32>
// CHECK: %[[D0:.*]] = tensor.extract_slice %[[E]][0, 0] [2, 3] [1, 1]
// CHECK: %[[C0:.*]] = linalg.copy ins(%arg0 : tensor<2x3xf32>) outs(%[[D0]] : tensor<2x3xf32>)
// CHECK: %[[R0:.*]] = tensor.insert_slice %[[C0]] into %[[E]][0, 0] [2, 3] [1, 1]
// CHECK: %[[D1:.*]] = tensor.extract_slice %[[R0]][0, %{{.*}}] [2, 5] [1, 1]
// CHECK: %[[C1:.*]] = linalg.copy ins(%arg1 : tensor<2x5xf32>) outs(%[[D1]] : tensor<2x5xf32>)
// CHECK: %[[R1:.*]] = tensor.insert_slice %[[C1]] into %[[R0]][0, %{{.*}}] [2, 5] [1, 1]
// CHECK: return %[[R1]]
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x8xf32> {
  %0 = onnx.node "Concat"(%a, %b) {node_attrs = {axis = -1 : i64}} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// Inputs known to be empty add nothing: an empty result is just made (a slice into it
// at the second input's offset would be out of bounds).
// CHECK-LABEL: func.func @concat_empty
// CHECK: %[[E:.*]] = bufferization.alloc_tensor(%{{.*}}) : tensor<?x0x3xi64>
// CHECK-NOT: tensor.extract_slice
// CHECK-NOT: linalg.copy
// CHECK: return %[[E]]
func.func @concat_empty(%a: tensor<?x0x1xi64>, %b: tensor<?x0x2xi64>) -> tensor<?x0x3xi64> {
  %0 = onnx.node "Concat"(%a, %b) {node_attrs = {axis = -1 : i64}} : (tensor<?x0x1xi64>, tensor<?x0x2xi64>) -> tensor<?x0x3xi64>
  return %0 : tensor<?x0x3xi64>
}

// Transpose's default permutation reverses the dimensions.
// CHECK-LABEL: func.func @transpose
// CHECK: linalg.transpose ins(%arg0 : tensor<2x3x4xf32>) outs(%{{.*}} : tensor<4x3x2xf32>) permutation = [2, 1, 0]
func.func @transpose(%a: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  %0 = onnx.node "Transpose"(%a) : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  return %0 : tensor<4x3x2xf32>
}

// Split parts are copied out of the input: they are results of their own.
// CHECK-LABEL: func.func @split
// CHECK: %[[P0:.*]] = tensor.extract_slice %arg0[0, %{{.*}}] [2, 2] [1, 1]
// CHECK: linalg.copy ins(%[[P0]] : tensor<2x2xf32>)
// CHECK: %[[P1:.*]] = tensor.extract_slice %arg0[0, %{{.*}}] [2, 4] [1, 1]
// CHECK: linalg.copy ins(%[[P1]] : tensor<2x4xf32>)
func.func @split(%a: tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>) {
  %0:2 = onnx.node "Split"(%a) {node_attrs = {axis = 1 : i64, split = array<i64: 2, 4>}} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)
  return %0#0, %0#1 : tensor<2x2xf32>, tensor<2x4xf32>
}

// Slice with a negative step to the start: element i comes from start + i * step.
// CHECK-LABEL: func.func @slice_backwards
// CHECK: %[[DIV:.*]] = arith.ceildivsi %{{.*}}, %{{.*}} : index
// CHECK: %[[LEN:.*]] = arith.maxsi %[[DIV]], %{{.*}} : index
// CHECK: tensor.generate %[[LEN]] {
// CHECK: ^bb0(%[[I:.*]]: index):
// CHECK: %[[OFF:.*]] = arith.muli %[[I]], %{{.*}} : index
// CHECK: %[[SRC:.*]] = arith.addi %{{.*}}, %[[OFF]] : index
// CHECK: tensor.extract %arg0[%[[SRC]]] : tensor<10xf32>
func.func @slice_backwards(%a: tensor<10xf32>) -> tensor<?xf32> {
  %s = onnx.constant "s" dense<[-1]> : tensor<1xi64>
  %e = onnx.constant "e" dense<[-9223372036854775808]> : tensor<1xi64>
  %st = onnx.constant "st" dense<[-2]> : tensor<1xi64>
  %n = onnx.none
  %0 = onnx.node "Slice"(%a, %s, %e, %n, %st) : (tensor<10xf32>, tensor<1xi64>, tensor<1xi64>, none, tensor<1xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// ConstantOfShape fills with its value attribute.
// CHECK-LABEL: func.func @constant_of_shape
// CHECK: %[[V:.*]] = tensor.extract %{{.*}}[%{{.*}}] : tensor<1xi32>
// CHECK: linalg.fill ins(%[[V]] : i32) outs(%{{.*}} : tensor<2x3xi32>)
func.func @constant_of_shape(%shape: tensor<2xi64>) -> tensor<2x3xi32> {
  %0 = onnx.node "ConstantOfShape"(%shape) {node_attrs = {value = dense<7> : tensor<1xi32>}} : (tensor<2xi64>) -> tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}
