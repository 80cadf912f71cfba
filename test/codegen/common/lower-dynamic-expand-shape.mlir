// RUN: moe-opt %s -moec-lower-dynamic-expand-shape | FileCheck %s
// Only expand_shapes that split one dimension into several dynamic ones are rewritten.

// CHECK-LABEL: func.func @two_dynamic
// CHECK: %[[BASE:.*]], %[[OFF:.*]], %{{.*}}:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata %arg0
// CHECK: %[[OUTER:.*]] = arith.muli %arg2, %c256
// CHECK: memref.reinterpret_cast %[[BASE]] to offset: [0], sizes: [%arg1, %arg2, 256], strides: [%[[OUTER]], 256, 1]
// CHECK-NOT: memref.expand_shape
func.func @two_dynamic(%a: memref<?x256xf32>, %x: index, %y: index) -> memref<?x?x256xf32> {
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [%x, %y, 256] : memref<?x256xf32> into memref<?x?x256xf32>
  return %e : memref<?x?x256xf32>
}

// CHECK-LABEL: func.func @one_dynamic
// CHECK: memref.expand_shape
func.func @one_dynamic(%a: memref<?x256xf32>, %x: index) -> memref<?x4x256xf32> {
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [%x, 4, 256] : memref<?x256xf32> into memref<?x4x256xf32>
  return %e : memref<?x4x256xf32>
}
