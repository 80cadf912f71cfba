// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// ScatterElements with reduction add is a sequential loop nest over the updates, so that
// duplicate indices accumulate, writing into a copy of data (never into data's buffer,
// which may be a model input).

// CHECK-LABEL: func.func @scatter_add
// CHECK: %[[COPY:.*]] = linalg.copy ins(%arg0 : tensor<?x5xf32>)
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[OUTER:.*]] = %[[COPY]]) -> (tensor<?x5xf32>)
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%[[ACC:.*]] = %[[OUTER]]) -> (tensor<?x5xf32>)
// CHECK: tensor.extract %arg1[%[[I]], %[[J]]]
// CHECK: %[[COL:.*]] = arith.select
// CHECK: %[[UPDATE:.*]] = tensor.extract %arg2[%[[I]], %[[J]]]
// CHECK: %[[OLD:.*]] = tensor.extract %[[ACC]][%[[I]], %[[COL]]]
// CHECK: %[[SUM:.*]] = arith.addf %[[OLD]], %[[UPDATE]]
// CHECK: tensor.insert %[[SUM]] into %[[ACC]][%[[I]], %[[COL]]]
func.func @scatter_add(%data: tensor<?x5xf32>, %indices: tensor<?x2xi64>, %updates: tensor<?x2xf32>) -> tensor<?x5xf32> {
  %0 = onnx.node "ScatterElements"(%data, %indices, %updates) {name = "scatter", node_attrs = {axis = 1 : i64, reduction = "add"}} : (tensor<?x5xf32>, tensor<?x2xi64>, tensor<?x2xf32>) -> tensor<?x5xf32>
  return %0 : tensor<?x5xf32>
}
