// REQUIRES: libdevice
// RUN: moe-opt %s -moec-gpu-lowering="chip=sm_90a libdevice=%libdevice" | FileCheck %s
// For sm_90a the GPU pipeline runs a gathering bf16 grouped matmul as the gather's loop
// kernel and a wgmma kernel: the host encodes both tensor maps through the runtime
// (the NVGPU lowering's mgpuTensorMapEncodeTiledMemref), launches with the kernel's
// dynamic shared memory and frees the gathered rows only after it; encoding the maps makes
// the host wait for nothing (one wait, at the end); the PTX has the TMA loads, the
// mbarrier waits and wgmma.

// CHECK-LABEL: llvm.func @moec_model_entry
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @moec_kernels::@{{main_kernel[_0-9]*}}
// CHECK-NOT: mgpuMemFree
// CHECK-NOT: mgpuStreamSynchronize
// CHECK: %[[INPUT_MAP:.*]] = llvm.call @mgpuTensorMapEncodeTiledMemref(
// CHECK: %[[WEIGHT_MAP:.*]] = llvm.call @mgpuTensorMapEncodeTiledMemref(
// CHECK-NOT: mgpuMemFree
// CHECK-NOT: mgpuStreamSynchronize
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @moec_kernels::@[[KERNEL:grouped_matmul_wgmma_bf16_k128_n128_gather2_silu_gated_b64x64_s4]] {{.*}} threads in ({{.*}}) : i64 dynamic_shared_memory_size %{{.*}} args(%[[INPUT_MAP]] : !llvm.ptr, %[[WEIGHT_MAP]] : !llvm.ptr,
// CHECK: llvm.call @mgpuMemFree
// CHECK: llvm.call @mgpuStreamSynchronize
// CHECK-NOT: mgpuStreamSynchronize
// CHECK: gpu.binary @moec_kernels
// CHECK-SAME: .entry [[KERNEL]](
// CHECK-SAME: cp.async.bulk.tensor.2d
// CHECK-SAME: mbarrier.try_wait.parity
// CHECK-SAME: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
func.func @main(%x: tensor<128x128xbf16>, %offsets: tensor<5xi32>, %ids: tensor<256xi32>) -> tensor<256x64xbf16> {
  %w = arith.constant dense<1.0> : tensor<4x128x128xbf16>
  %y = moe.grouped_matmul %x, %w offsets %offsets gather %ids, rows_per_token 2
      expert <activation = silu, gated = true>
      : (tensor<128x128xbf16>, tensor<4x128x128xbf16>, tensor<5xi32>, tensor<256xi32>) -> tensor<256x64xbf16>
  return %y : tensor<256x64xbf16>
}
