// RUN: moe-opt %s -moec-copy-constants-to-gpu | FileCheck %s
// A TMA tensor map of a constant (the sm_90a grouped matmul's weights) is encoded over the
// runtime's device copy, not the host global: the kernel reads through the map.

// CHECK-LABEL: func.func @main
// CHECK: %[[G:.*]] = memref.get_global @weight
// CHECK: %[[COPY:.*]] = call @moec_rt_gpu_constant
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} to memref<2x64x64xbf16>
// CHECK-NOT: memref.cast %[[G]]
// CHECK: %[[UNRANKED:.*]] = memref.cast %[[W]] : memref<2x64x64xbf16> to memref<*xbf16>
// CHECK: nvgpu.tma.create.descriptor %[[UNRANKED]]
module attributes {gpu.container_module} {
  memref.global "private" constant @weight : memref<2x64x64xbf16> = dense<1.0>
  func.func @main() -> !nvgpu.tensormap.descriptor<tensor = memref<1x64x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none> {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %w = memref.get_global @weight : memref<2x64x64xbf16>
    %unranked = memref.cast %w : memref<2x64x64xbf16> to memref<*xbf16>
    %map = nvgpu.tma.create.descriptor %unranked box[%c1, %c64, %c64] : memref<*xbf16> -> <tensor = memref<1x64x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
    return %map : !nvgpu.tensormap.descriptor<tensor = memref<1x64x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
  }
}
