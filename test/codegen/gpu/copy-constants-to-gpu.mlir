// RUN: moe-opt %s -moec-copy-constants-to-gpu | FileCheck %s
// GPU work reads a constant through the runtime's cached device copy of the global (its
// address and size in bytes), taken at the start of the function; host code keeps reading
// the global; a view that both use is made again of the copy for the GPU; a mutable global
// and a constant only host code reads are left alone.

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = memref.get_global @weight : memref<3x4xf32>
// CHECK: %[[ADDR:.*]] = memref.extract_aligned_pointer_as_index %[[G]]
// CHECK: %[[ADDR64:.*]] = arith.index_cast %[[ADDR]] : index to i64
// CHECK: %[[HOST:.*]] = llvm.inttoptr %[[ADDR64]] : i64 to !llvm.ptr
// CHECK: %[[COPY:.*]] = call @moec_rt_gpu_constant(%[[HOST]], %c48_i64) : (!llvm.ptr, i64) -> !llvm.ptr
// CHECK: %[[DESC:.*]] = llvm.insertvalue %{{.*}}[4, 1]
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %[[DESC]] {{.*}} to memref<3x4xf32>
// CHECK: %[[M:.*]] = memref.get_global @state : memref<4xf32>
// CHECK: %[[H:.*]] = memref.get_global @host_only : memref<4xf32>
// CHECK: %[[HOSTVIEW:.*]] = memref.collapse_shape %[[G]]
// CHECK: %[[GPUVIEW:.*]] = memref.collapse_shape %[[W]]
// CHECK: gpu.launch_func @kernels::@k {{.*}} args(%[[W]] : memref<3x4xf32>, %[[M]] : memref<4xf32>, %[[GPUVIEW]] : memref<12xf32>)
// CHECK: memref.load %[[G]]
// CHECK: memref.load %[[HOSTVIEW]]
// CHECK: memref.load %[[H]]
// CHECK: func.func private @moec_rt_gpu_constant(!llvm.ptr, i64) -> !llvm.ptr
module attributes {gpu.container_module} {
  memref.global "private" constant @weight : memref<3x4xf32> = dense<1.0>
  memref.global "private" @state : memref<4xf32> = dense<0.0>
  memref.global "private" constant @host_only : memref<4xf32> = dense<2.0>
  gpu.module @kernels {
    gpu.func @k(%w: memref<3x4xf32>, %m: memref<4xf32>, %flat: memref<12xf32>) kernel {
      gpu.return
    }
  }
  func.func @main(%i: index) -> (f32, f32, f32) {
    %c1 = arith.constant 1 : index
    %m = memref.get_global @state : memref<4xf32>
    %h = memref.get_global @host_only : memref<4xf32>
    %w = memref.get_global @weight : memref<3x4xf32>
    %flat = memref.collapse_shape %w [[0, 1]] : memref<3x4xf32> into memref<12xf32>
    gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%w : memref<3x4xf32>, %m : memref<4xf32>, %flat : memref<12xf32>)
    %a = memref.load %w[%i, %i] : memref<3x4xf32>
    %b = memref.load %flat[%i] : memref<12xf32>
    %c = memref.load %h[%i] : memref<4xf32>
    return %a, %b, %c : f32, f32, f32
  }
}
