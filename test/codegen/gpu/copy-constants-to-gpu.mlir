// RUN: moe-opt %s -moec-copy-constants-to-gpu | FileCheck %s
// Constants reach kernels through the runtime's cached copy of the global (its address
// and size in bytes); a mutable global is left alone.

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = memref.get_global @weight : memref<3x4xf32>
// CHECK: %[[ADDR:.*]] = memref.extract_aligned_pointer_as_index %[[G]]
// CHECK: %[[ADDR64:.*]] = arith.index_cast %[[ADDR]] : index to i64
// CHECK: %[[HOST:.*]] = llvm.inttoptr %[[ADDR64]] : i64 to !llvm.ptr
// CHECK: %[[COPY:.*]] = call @moec_rt_gpu_constant(%[[HOST]], %c48_i64) : (!llvm.ptr, i64) -> !llvm.ptr
// CHECK: %[[DESC:.*]] = llvm.insertvalue %{{.*}}[4, 1]
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %[[DESC]] {{.*}} to memref<3x4xf32>
// CHECK: %[[M:.*]] = memref.get_global @state : memref<4xf32>
// CHECK: linalg.matmul ins(%arg0, %[[W]] : {{.*}}) outs(%arg1 :
// CHECK: linalg.add ins(%[[M]], %[[M]] :
// CHECK: func.func private @moec_rt_gpu_constant(!llvm.ptr, i64) -> !llvm.ptr
memref.global "private" constant @weight : memref<3x4xf32> = dense<1.0>
memref.global "private" @state : memref<4xf32> = dense<0.0>
func.func @main(%x: memref<2x3xf32>, %y: memref<2x4xf32>, %z: memref<4xf32>) {
  %w = memref.get_global @weight : memref<3x4xf32>
  %m = memref.get_global @state : memref<4xf32>
  linalg.matmul ins(%x, %w : memref<2x3xf32>, memref<3x4xf32>) outs(%y : memref<2x4xf32>)
  linalg.add ins(%m, %m : memref<4xf32>, memref<4xf32>) outs(%z : memref<4xf32>)
  return
}
