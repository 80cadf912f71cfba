// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Compress along an axis: the condition is cut to the axis' length, its true entries
// counted, then each selected slice is copied to the next free position.

// CHECK-LABEL: func.func @compress
// CHECK: %[[LEN:.*]] = tensor.dim %arg1, %c0
// CHECK: %[[N:.*]] = arith.minui %[[LEN]], %c3
// CHECK: %[[COND:.*]] = tensor.extract_slice %arg1[0] [%[[N]]] [1]
// CHECK: %[[COUNT:.*]] = scf.for
// CHECK: %[[INIT:.*]] = tensor.empty(%[[COUNT]]) : tensor<?x2xf32>
// CHECK: scf.for %[[J:.*]] = %c0{{.*}} to %[[N]] {{.*}} iter_args(%{{.*}} = %[[INIT]], %{{.*}} = %c0{{.*}})
// CHECK: %[[SELECTED:.*]] = tensor.extract %[[COND]][%[[J]]]
// CHECK: %[[TAKE:.*]] = arith.cmpi ne, %[[SELECTED]]
// CHECK: scf.if %[[TAKE]]
// CHECK: tensor.extract %arg0[%[[J]],
// CHECK: tensor.insert
func.func @compress(%x: tensor<3x2xf32>, %condition: tensor<?xi1>) -> tensor<?x2xf32> {
  %0 = onnx.node "Compress"(%x, %condition) {name = "c", node_attrs = {axis = 0 : i64}} : (tensor<3x2xf32>, tensor<?xi1>) -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// Without an axis the condition selects from the flattened input, whose elements are
// found by delinearizing the condition's position.
// CHECK-LABEL: func.func @compress_flat
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[M:.*]] = tensor.dim %arg0, %c1
// CHECK: %[[SIZE:.*]] = arith.muli %[[N]], %[[M]]
// CHECK: arith.minui %{{.*}}, %[[SIZE]]
// CHECK: scf.if
// CHECK: %[[COL:.*]] = arith.remui %{{.*}}, %[[M]]
// CHECK: %[[REST:.*]] = arith.divui %{{.*}}, %[[M]]
// CHECK: %[[ROW:.*]] = arith.remui %[[REST]], %[[N]]
// CHECK: %[[ELEMENT:.*]] = tensor.extract %arg0[%[[ROW]], %[[COL]]]
// CHECK: tensor.insert %[[ELEMENT]]
func.func @compress_flat(%x: tensor<?x?xf32>, %condition: tensor<?xi1>) -> tensor<?xf32> {
  %0 = onnx.node "Compress"(%x, %condition) {name = "c"} : (tensor<?x?xf32>, tensor<?xi1>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}
