// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// RUN: moe-opt %s -moec-legalize-onnx=runtime-checks=false -canonicalize | FileCheck %s --check-prefix=UNCHECKED
// Indices are checked against their dimension before the loop that reads through them:
// one pass finds their extremes, one moe.check names the node and the offending index.

// CHECK-LABEL: func.func @gather
// CHECK: %[[EXTREMES:.*]]:2 = linalg.generic {{.*}}iterator_types = ["reduction"]{{.*}} ins(%arg1 : tensor<?xi32>)
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: %[[MIN:.*]] = tensor.extract %[[EXTREMES]]#0[] : tensor<i64>
// CHECK: %[[MAX:.*]] = tensor.extract %[[EXTREMES]]#1[] : tensor<i64>
// CHECK: moe.check %{{.*}}, "node 'g{{\{\{}}0}' (Gather): index {0} is out of range for dimension 1 of data (size {1})"(%{{.*}}, %{{.*}} : i64, i64)
// CHECK: linalg.generic
// CHECK: tensor.extract %arg0
// UNCHECKED-LABEL: func.func @gather
// UNCHECKED-NOT: moe.check
// UNCHECKED-NOT: arith.minsi
// UNCHECKED: linalg.generic
// UNCHECKED-NOT: linalg.generic
func.func @gather(%data: tensor<2x5xf32>, %indices: tensor<?xi32>) -> tensor<2x?xf32> {
  %0 = onnx.node "Gather"(%data, %indices) {name = "g{0}", node_attrs = {axis = 1 : i64}} : (tensor<2x5xf32>, tensor<?xi32>) -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// Index tuples: each element against its own dimension.
// CHECK-LABEL: func.func @gathernd
// UNCHECKED-LABEL: func.func @gathernd
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// CHECK: moe.check {{.*}}"node 'nd' (GatherND): index {0} is out of range for dimension 0 of data (size {1})"
// CHECK: moe.check {{.*}}"node 'nd' (GatherND): index {0} is out of range for dimension 1 of data (size {1})"
func.func @gathernd(%data: tensor<4x3xf32>, %indices: tensor<?x2xi64>) -> tensor<?xf32> {
  %0 = onnx.node "GatherND"(%data, %indices) {name = "nd"} : (tensor<4x3xf32>, tensor<?x2xi64>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
