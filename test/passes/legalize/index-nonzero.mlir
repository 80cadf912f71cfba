// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// NonZero counts the non-zero elements first, then fills [rank, count] in a second pass.

// CHECK-LABEL: func.func @nonzero
// CHECK: %[[COUNT:.*]] = scf.for
// CHECK: arith.cmpf une
// CHECK: arith.index_castui
// CHECK: %[[INIT:.*]] = tensor.empty(%[[COUNT]]) : tensor<2x?xi64>
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]], %{{.*}} = %c0{{.*}}) -> (tensor<2x?xi64>, index)
// CHECK: scf.if
// CHECK: tensor.insert
// CHECK: tensor.insert
// CHECK: arith.addi
func.func @nonzero(%x: tensor<?x3xf32>) -> tensor<2x?xi64> {
  %0 = onnx.node "NonZero"(%x) {name = "nz"} : (tensor<?x3xf32>) -> tensor<2x?xi64>
  return %0 : tensor<2x?xi64>
}
