// RUN: moe-opt %s -moec-legalize-onnx -canonicalize | FileCheck %s
// moe.refine_shape checks each dim it makes static against the size that its producer
// computes from its own inputs, before the producer runs: after canonicalization folds the
// cast into the producer, which then loops over the declared rows, the check still reads
// the indices' rows, not the declared size.

// CHECK-LABEL: func.func @gather_elements
// CHECK-SAME: %[[DATA:.*]]: tensor<?x3xf32>, %[[INDICES:.*]]: tensor<?x3xi64>
// CHECK: %[[ROWS:.*]] = tensor.dim %[[INDICES]], %c0
// CHECK: %[[SAME:.*]] = arith.cmpi eq, %[[ROWS]], %c4
// CHECK: moe.check %[[SAME]], "node 'ge{{\{\{}}1}' (GatherElements): output 0 has {0} in dimension 0 at run time, where the model declares {1}"(%[[ROWS]], %c4 : index, index)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4x3xf32>)
func.func @gather_elements(%data: tensor<?x3xf32>, %indices: tensor<?x3xi64>) -> tensor<4x3xf32> {
  %y = onnx.node "GatherElements"(%data, %indices) {name = "ge{1}", node_attrs = {axis = 0 : i64}} : (tensor<?x3xf32>, tensor<?x3xi64>) -> tensor<?x3xf32>
  %r = moe.refine_shape %y, "node 'ge{1}' (GatherElements): output 0" : tensor<?x3xf32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}

// A dim that the source already has static is not checked.
// CHECK-LABEL: func.func @static_source
// CHECK-NOT: moe.check
// CHECK: return
func.func @static_source(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %r = moe.refine_shape %x, "output 'x'" : tensor<4x3xf32> -> tensor<4x3xf32>
  return %r : tensor<4x3xf32>
}
