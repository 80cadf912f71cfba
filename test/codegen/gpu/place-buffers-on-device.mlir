// RUN: moe-opt %s -split-input-file -verify-diagnostics -moec-place-buffers-on-device | FileCheck %s
// Each buffer lives where what touches it can reach it: device memory when only kernels
// do, managed memory when host code does too, host memory when no kernel does. Inputs that
// kernels read are copied to the device on entry; results on the GPU are copied back into
// host memory; dense copies touching the GPU go on the stream; the GPU buffers are freed.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: memref<?x4xf32>, %[[SHAPE:.*]]: memref<2xindex>) -> memref<?x4xf32>
// The input kernels read is copied to a device buffer; the one only host code reads is not.
// CHECK: %[[N:.*]] = memref.dim %[[X]], %c0
// CHECK: %[[XD:.*]] = gpu.alloc  (%[[N]]) : memref<?x4xf32>
// CHECK: gpu.memcpy  %[[XD]], %[[X]]
// Only kernels touch T: device memory. Host code reads COUNTS: managed. No kernel touches
// SCRATCH, nor STAGE (a dense copy from the device fills it): host memory.
// CHECK: %[[T:.*]] = gpu.alloc  (%{{.*}}) : memref<?x4xf32>
// CHECK: %[[COUNTS:.*]] = gpu.alloc  host_shared () : memref<4xi32>
// CHECK: %[[SCRATCH:.*]] = memref.alloc() : memref<4xindex>
// CHECK: %[[STAGE:.*]] = memref.alloc(%{{.*}}) : memref<?x4xf32>
// CHECK: gpu.launch_func @kernels::@k {{.*}} args(%[[XD]] : memref<?x4xf32>, %[[T]] : memref<?x4xf32>, %[[COUNTS]] : memref<4xi32>)
// CHECK: memref.load %[[COUNTS]]
// CHECK: memref.load %[[SHAPE]]
// CHECK: gpu.memcpy  %[[STAGE]], %[[T]]
// CHECK: memref.load %[[STAGE]]
// CHECK: memref.store %{{.*}}, %[[SCRATCH]]
// CHECK: memref.dealloc %[[STAGE]]
// CHECK: memref.dealloc %[[SCRATCH]]
// CHECK: gpu.dealloc  %[[COUNTS]]
// The result is copied into host memory, and the function's GPU buffers are freed.
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<?x4xf32>
// CHECK: gpu.memcpy  %[[OUT]], %[[T]]
// CHECK: gpu.dealloc  %[[XD]]
// CHECK: gpu.dealloc  %[[T]]
// CHECK: return %[[OUT]]
// CHECK-NOT: gpu.dealloc
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%x: memref<?x4xf32>, %t: memref<?x4xf32>, %counts: memref<4xi32>) kernel {
      gpu.return
    }
  }
  func.func @main(%x: memref<?x4xf32>, %shape: memref<2xindex>) -> memref<?x4xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %n = memref.dim %x, %c0 : memref<?x4xf32>
    %t = memref.alloc(%n) {alignment = 64 : i64} : memref<?x4xf32>
    %counts = memref.alloc() : memref<4xi32>
    %scratch = memref.alloc() : memref<4xindex>
    %stage = memref.alloc(%n) : memref<?x4xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%x : memref<?x4xf32>, %t : memref<?x4xf32>, %counts : memref<4xi32>)
    %count = memref.load %counts[%c0] : memref<4xi32>
    %count_index = arith.index_cast %count : i32 to index
    %rows = memref.load %shape[%c0] : memref<2xindex>
    memref.copy %t, %stage : memref<?x4xf32> to memref<?x4xf32>
    %first = memref.load %stage[%c0, %c0] : memref<?x4xf32>
    %first_index = arith.fptosi %first : f32 to i32
    %first_as_index = arith.index_cast %first_index : i32 to index
    memref.store %count_index, %scratch[%c0] : memref<4xindex>
    memref.store %rows, %scratch[%c1] : memref<4xindex>
    memref.store %first_as_index, %scratch[%c2] : memref<4xindex>
    memref.dealloc %stage : memref<?x4xf32>
    memref.dealloc %scratch : memref<4xindex>
    memref.dealloc %counts : memref<4xi32>
    return %t : memref<?x4xf32>
  }
}

// -----

// A buffer that host code reads through a view is managed too.

// CHECK-LABEL: func.func @main(
// CHECK: %[[B:.*]] = gpu.alloc  host_shared () : memref<4x4xf32>
// CHECK: %[[ROW:.*]] = memref.subview %[[B]]
// CHECK: memref.load %[[ROW]]
// CHECK: gpu.dealloc  %[[B]]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%b: memref<4x4xf32>) kernel {
      gpu.return
    }
  }
  func.func @main(%out: memref<f32>) {
    %c1 = arith.constant 1 : index
    %b = memref.alloc() : memref<4x4xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%b : memref<4x4xf32>)
    %row = memref.subview %b[1, 0] [1, 4] [1, 1] : memref<4x4xf32> to memref<4xf32, strided<[1], offset: 4>>
    %v = memref.load %row[%c1] : memref<4xf32, strided<[1], offset: 4>>
    memref.store %v, %out[] : memref<f32>
    memref.dealloc %b : memref<4x4xf32>
    return
  }
}

// -----

// A free whose allocation is out of sight might be of GPU memory: an error, not a guess.
module attributes {gpu.container_module} {
  func.func @main(%m: memref<i1>) {
    %c = memref.load %m[] : memref<i1>
    %a = memref.alloc() : memref<4xf32>
    %b = memref.alloc() : memref<4xf32>
    %s = arith.select %c, %a, %b : memref<4xf32>
    // expected-error @below {{frees a buffer whose allocation is not in sight}}
    memref.dealloc %s : memref<4xf32>
    return
  }
}
