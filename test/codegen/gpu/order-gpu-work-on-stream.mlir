// RUN: moe-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(moec-order-gpu-work-on-stream))' | FileCheck %s
// GPU work is chained on one token in program order; the host waits only before code that
// may touch memory queued work uses, and at the end of the block.

// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[X:.*]]: memref<4xf32>, %[[SHAPE:.*]]: memref<2xindex>)
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[D:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] () : memref<4xf32>
// CHECK: %[[T2:.*]] = gpu.memcpy async [%[[T1]]] %[[D]], %[[X]]
// A managed allocation stays synchronous (gpu-to-llvm lowers no asynchronous one) and,
// like a host allocation, needs no wait.
// CHECK: %[[M:.*]] = gpu.alloc  host_shared () : memref<4xi32>
// CHECK: %[[H:.*]] = memref.alloc() : memref<4xf32>
// CHECK: %[[T3:.*]] = gpu.launch_func async [%[[T2]]] @kernels::@k
// No queued work uses SHAPE: reading it needs no wait.
// CHECK: memref.load %[[SHAPE]]
// CHECK: %[[T4:.*]] = gpu.launch_func async [%[[T3]]] @kernels::@k
// The launches use M: the host waits before reading it.
// CHECK: gpu.wait [%[[T4]]]
// CHECK: memref.load %[[M]]
// A new chain; the call might touch any memory.
// CHECK: %[[T5:.*]] = gpu.wait async
// CHECK: %[[T6:.*]] = gpu.memcpy async [%[[T5]]] %[[H]], %[[D]]
// CHECK: gpu.wait [%[[T6]]]
// CHECK: call @opaque()
// CHECK: %[[T7:.*]] = gpu.wait async
// CHECK: %[[T8:.*]] = gpu.dealloc async [%[[T7]]] %[[D]]
// CHECK: %[[T9:.*]] = gpu.dealloc async [%[[T8]]] %[[M]]
// CHECK: gpu.wait [%[[T9]]]
// CHECK-NEXT: return %[[H]]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%d: memref<4xf32>, %m: memref<4xi32>) kernel {
      gpu.return
    }
  }
  func.func private @opaque()
  func.func @main(%x: memref<4xf32>, %shape: memref<2xindex>) -> (memref<4xf32>, index, i32) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %d = gpu.alloc () : memref<4xf32>
    gpu.memcpy %d, %x : memref<4xf32>, memref<4xf32>
    %m = gpu.alloc host_shared () : memref<4xi32>
    %h = memref.alloc() : memref<4xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%d : memref<4xf32>, %m : memref<4xi32>)
    %rows = memref.load %shape[%c0] : memref<2xindex>
    gpu.launch_func @kernels::@k blocks in (%rows, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%d : memref<4xf32>, %m : memref<4xi32>)
    %count = memref.load %m[%c0] : memref<4xi32>
    gpu.memcpy %h, %d : memref<4xf32>, memref<4xf32>
    call @opaque() : () -> ()
    gpu.dealloc %d : memref<4xf32>
    gpu.dealloc %m : memref<4xi32>
    return %h, %rows, %count : memref<4xf32>, index, i32
  }
}

// -----

// Work in a loop body is chained and waited for inside the body; the loop waits for the
// work before it.

// CHECK-LABEL: func.func @loop(
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: gpu.launch_func async [%[[T0]]]
// CHECK: gpu.wait
// CHECK: scf.for
// CHECK:   %[[T1:.*]] = gpu.wait async
// CHECK:   %[[T2:.*]] = gpu.launch_func async [%[[T1]]]
// CHECK:   gpu.wait [%[[T2]]]
// CHECK-NEXT: }
// CHECK-NEXT: return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%d: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @loop(%d: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%d : memref<4xf32>)
    scf.for %i = %c0 to %c4 step %c1 {
      gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
          args(%d : memref<4xf32>)
    }
    return
  }
}

// -----

// A buffer that is not known to be no other's memory (here selected between two) may be
// what queued work uses: the host waits before touching it.

// CHECK-LABEL: func.func @unidentified(
// CHECK: %[[T0:.*]] = gpu.wait async
// CHECK: %[[T1:.*]] = gpu.launch_func async [%[[T0]]]
// CHECK: %[[S:.*]] = arith.select
// CHECK: gpu.wait [%[[T1]]]
// CHECK: memref.load %[[S]]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%d: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @unidentified(%a: memref<4xf32>, %b: memref<4xf32>, %c: i1) -> f32 {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%a : memref<4xf32>)
    %s = arith.select %c, %a, %b : memref<4xf32>
    %v = memref.load %s[%c0] : memref<4xf32>
    return %v : f32
  }
}

// -----

func.func @already_waiting() {
  // expected-error @below {{before moec-order-gpu-work-on-stream, which makes the waits}}
  gpu.wait
  return
}
