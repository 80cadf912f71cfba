// RUN: moe-opt %s -ownership-based-buffer-deallocation -canonicalize | FileCheck %s
// gpu.launch_func declares its memory effects (moec's external model, registered with
// moec's dialects), so the ownership-based deallocation takes a launch on a buffer it
// owns and frees the buffer after the launch instead of stopping with "ops with unknown
// memory side effects are not supported".

// CHECK-LABEL: func.func @launch_on_owned_buffer
// CHECK: %[[BUFFER:.*]] = memref.alloc() : memref<64xf32>
// CHECK: gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1) args(%[[BUFFER]] : memref<64xf32>)
// CHECK-NEXT: bufferization.dealloc (%[[BUFFER]] : memref<64xf32>)
module attributes {gpu.container_module} {
  func.func @launch_on_owned_buffer() {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %buffer = memref.alloc() : memref<64xf32>
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c64, %c1, %c1)
        args(%buffer : memref<64xf32>)
    return
  }
  gpu.module @kernels {
    gpu.func @fill(%out: memref<64xf32>) kernel {
      gpu.return
    }
  }
}
