// RUN: moe-opt %s -moec-place-buffers-in-managed-memory | FileCheck %s
// Buffers become managed memory; the entry function copies its input into a managed
// buffer and its result out into host memory (the malloc the caller frees), and frees
// every managed buffer it made.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: memref<?x4xf32>) -> memref<?x4xf32>
// CHECK: %[[N:.*]] = memref.dim %[[X]], %c0
// CHECK: %[[XM:.*]] = gpu.alloc host_shared (%[[N]]) : memref<?x4xf32>
// CHECK: memref.copy %[[X]], %[[XM]]
// CHECK: %[[T:.*]] = gpu.alloc host_shared (%{{.*}}) : memref<?x4xf32>
// CHECK: %[[TMP:.*]] = gpu.alloc host_shared () : memref<4xf32>
// CHECK: linalg.add ins(%[[XM]], %[[XM]] : {{.*}}) outs(%[[T]] :
// The temporary's dealloc frees it on a stream that is waited for.
// CHECK: %[[S0:.*]] = gpu.wait async
// CHECK: %[[F0:.*]] = gpu.dealloc async [%[[S0]]] %[[TMP]]
// CHECK: gpu.wait [%[[F0]]]
// The managed input is freed, the result copied out and freed.
// CHECK: gpu.dealloc async [%{{.*}}] %[[XM]]
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x4xf32>
// CHECK: memref.copy %[[T]], %[[OUT]]
// CHECK: gpu.dealloc async [%{{.*}}] %[[T]]
// CHECK: return %[[OUT]]
// CHECK-NOT: gpu.dealloc
func.func @main(%x: memref<?x4xf32>) -> memref<?x4xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %t = memref.alloc(%n) {alignment = 64 : i64} : memref<?x4xf32>
  %tmp = memref.alloc() : memref<4xf32>
  linalg.add ins(%x, %x : memref<?x4xf32>, memref<?x4xf32>) outs(%t : memref<?x4xf32>)
  memref.dealloc %tmp : memref<4xf32>
  return %t : memref<?x4xf32>
}
