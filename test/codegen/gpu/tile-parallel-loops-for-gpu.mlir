// RUN: moe-opt %s -pass-pipeline='builtin.module(func.func(moec-tile-parallel-loops-for-gpu,cse))' | FileCheck %s
// Single parallel loops become blocks of 256 threads with constant inner bounds; nests
// already two deep keep their shape.

// CHECK-LABEL: func.func @one_dim
// CHECK: %[[TILE:.*]] = arith.muli %c1, %c256
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%{{.*}}) step (%[[TILE]])
// CHECK:   scf.parallel (%{{.*}}) = (%c0) to (%[[TILE]]) step (%c1)
// CHECK:     scf.if
func.func @one_dim(%out: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %zero, %out[%i] : memref<?xf32>
  }
  return
}

// The innermost two dimensions take 16 x 16 threads, the outer one a block per index.
// CHECK-LABEL: func.func @three_dims
// CHECK: %[[ONE:.*]] = arith.muli %c1, %c1
// CHECK: %[[SIDE:.*]] = arith.muli %c1, %c16
// CHECK: scf.parallel ({{.*}}) = (%c0, %c0, %c0) to ({{.*}}) step (%[[ONE]], %[[SIDE]], %[[SIDE]])
// CHECK:   scf.parallel ({{.*}}) = (%c0, %c0, %c0) to (%[[ONE]], %[[SIDE]], %[[SIDE]]) step (%c1, %c1, %c1)
func.func @three_dims(%out: memref<?x?x?xf32>, %a: index, %b: index, %c: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%a, %b, %c) step (%c1, %c1, %c1) {
    memref.store %zero, %out[%i, %j, %k] : memref<?x?x?xf32>
  }
  return
}

// CHECK-LABEL: func.func @already_nested
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%{{.*}}) step (%c1)
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c64) step (%c1)
// CHECK-NOT: scf.parallel
func.func @already_nested(%out: memref<?xf32>, %blocks: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%b) = (%c0) to (%blocks) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c64) step (%c1) {
      %i = affine.apply affine_map<(d0, d1) -> (d0 * 64 + d1)>(%b, %t)
      memref.store %zero, %out[%i] : memref<?xf32>
    }
  }
  return
}
