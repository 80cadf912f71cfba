// RUN: moe-opt %s -split-input-file -verify-diagnostics -moec-export-gpu-graph-blocker | FileCheck %s
// The global `moec_gpu_graph_blocker` says why a run cannot be replayed as a CUDA graph,
// or is empty when it can.

// The input copied in, a launch, the result copied out, one wait before the return (and
// a free after it): replayable.
// CHECK: llvm.mlir.global external constant @moec_gpu_graph_blocker("\00")
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%d: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @main(%x: memref<?xf32>) -> memref<4xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = memref.dim %x, %c0 : memref<?xf32>
    %view = memref.reinterpret_cast %x to offset: [0], sizes: [4], strides: [1] : memref<?xf32> to memref<4xf32>
    %scratch = memref.alloc() : memref<4xf32>
    %t0 = gpu.wait async
    %d, %t1 = gpu.alloc async [%t0] () : memref<4xf32>
    %t2 = gpu.memcpy async [%t1] %d, %view : memref<4xf32>, memref<4xf32>
    %t3 = gpu.launch_func async [%t2] @kernels::@k blocks in (%c1, %c1, %c1) threads in (%n, %c1, %c1) args(%d : memref<4xf32>)
    %y = memref.alloc() : memref<4xf32>
    %t4 = gpu.memcpy async [%t3] %y, %d : memref<4xf32>, memref<4xf32>
    %t5 = gpu.dealloc async [%t4] %d : memref<4xf32>
    gpu.wait [%t5]
    memref.dealloc %scratch : memref<4xf32>
    return %y : memref<4xf32>
  }
}

// -----

// Host code and kernels share a managed buffer.
// CHECK: @moec_gpu_graph_blocker("host code and kernels share a buffer in managed memory: 'gpu.alloc' at loc(\22shared\22)\00")
module attributes {gpu.container_module} {
  func.func @main() -> memref<4xf32> {
    %m = gpu.alloc host_shared () : memref<4xf32> loc("shared")
    %t0 = gpu.wait async
    %y = memref.alloc() : memref<4xf32>
    %t1 = gpu.memcpy async [%t0] %y, %m : memref<4xf32>, memref<4xf32>
    gpu.wait [%t1]
    return %y : memref<4xf32>
  }
}

// -----

// The host waits for a kernel's result before reading it.
// CHECK: @moec_gpu_graph_blocker("the host waits for the GPU before the end of the run: 'gpu.wait' at loc(\22mid-run\22)\00")
module attributes {gpu.container_module} {
  func.func @main() -> f32 {
    %c0 = arith.constant 0 : index
    %h = memref.alloc() : memref<4xf32>
    %t0 = gpu.wait async
    %d, %t1 = gpu.alloc async [%t0] () : memref<4xf32>
    %t2 = gpu.memcpy async [%t1] %h, %d : memref<4xf32>, memref<4xf32>
    gpu.wait [%t2] loc("mid-run")
    %v = memref.load %h[%c0] : memref<4xf32>
    %t3 = gpu.wait async
    %t4 = gpu.dealloc async [%t3] %d : memref<4xf32>
    gpu.wait [%t4]
    return %v : f32
  }
}

// -----

// A wait in another function counts too.
// CHECK: @moec_gpu_graph_blocker("the host waits for the GPU before the end of the run: 'gpu.wait' at loc(\22helper\22)\00")
module attributes {gpu.container_module} {
  func.func private @helper() {
    %t0 = gpu.wait async
    gpu.wait [%t0] loc("helper")
    return
  }
  func.func @main() {
    call @helper() : () -> ()
    return
  }
}

// -----

// Host code reads an input's elements (through a view): a replay would not see new values.
// CHECK: @moec_gpu_graph_blocker("host code reads the elements of input 1\00")
module attributes {gpu.container_module} {
  func.func @main(%x: memref<4xf32>, %shape: memref<2xi64>) -> i64 {
    %c0 = arith.constant 0 : index
    %view = memref.subview %shape[0] [1] [1] : memref<2xi64> to memref<1xi64, strided<[1]>>
    %v = memref.load %view[%c0] : memref<1xi64, strided<[1]>>
    return %v : i64
  }
}

// -----

// expected-error @+1 {{no entry function 'main' to check for CUDA graphs}}
module {
  func.func @other() {
    return
  }
}
