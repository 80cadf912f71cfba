// REQUIRES: libdevice
// RUN: moe-opt %s -moec-gpu-lowering="chip=sm_80 libdevice=%libdevice" | FileCheck %s
// The GPU pipeline runs a bf16 grouped matmul as a tensor-core kernel
// (moec-lower-grouped-matmul-to-mma, for the pipeline's chip) beside the loop kernels of
// the other moe ops, all in the one gpu.binary: the launch survives the buffer
// deallocation, its result buffer is device memory freed after it, and the PTX has the
// bf16 m16n8k16 mma.

// CHECK-LABEL: llvm.func @moec_model_entry
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @moec_kernels::@[[KERNEL:grouped_matmul_mma_bf16_k32_n16_[a-z0-9_]+]] blocks in
// CHECK: llvm.call @mgpuMemFree
// CHECK: gpu.binary @moec_kernels
// CHECK-SAME: .entry [[KERNEL]](
// CHECK-SAME: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
func.func @main(%x: tensor<128x32xbf16>, %offsets: tensor<5xi32>) -> tensor<128x16xbf16> {
  %w = arith.constant dense<1.0> : tensor<4x32x16xbf16>
  %y = moe.grouped_matmul %x, %w offsets %offsets
      : (tensor<128x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>) -> tensor<128x16xbf16>
  return %y : tensor<128x16xbf16>
}
