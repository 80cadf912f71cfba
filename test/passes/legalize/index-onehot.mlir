// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// OneHot takes its depth from the depth input at run time (a float here, truncated) and
// compares each position along axis with the wrapped index.

// CHECK-LABEL: func.func @onehot
// CHECK: %[[D:.*]] = tensor.extract %arg1[] : tensor<f32>
// CHECK: %[[DI:.*]] = arith.fptosi %[[D]] : f32 to i64
// CHECK: %[[DEPTH:.*]] = arith.index_cast %[[DI]] : i64 to index
// CHECK: %[[OFF:.*]] = tensor.extract %arg2[%c0]
// CHECK: %[[ON:.*]] = tensor.extract %arg2[%c1]
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[N]], %[[DEPTH]]) : tensor<?x?xf32>
// CHECK: linalg.generic
// CHECK: %[[CLASS:.*]] = linalg.index 1
// CHECK: arith.addi %{{.*}}, %[[DEPTH]]
// CHECK: %[[INDEX:.*]] = arith.select
// CHECK: %[[HOT:.*]] = arith.cmpi eq, %[[CLASS]], %[[INDEX]]
// CHECK: arith.select %[[HOT]], %[[ON]], %[[OFF]]
func.func @onehot(%indices: tensor<?xi64>, %depth: tensor<f32>, %values: tensor<2xf32>) -> tensor<?x?xf32> {
  %0 = onnx.node "OneHot"(%indices, %depth, %values) {name = "oh"} : (tensor<?xi64>, tensor<f32>, tensor<2xf32>) -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}
