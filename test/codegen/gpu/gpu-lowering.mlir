// REQUIRES: libdevice
// RUN: moe-opt %s -moec-gpu-lowering="chip=sm_90a libdevice=%libdevice" -o %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=BINARY < %t
// RUN: FileCheck %s --check-prefix=SYNC < %t
// The GPU pipeline from tensors: every kernel in one gpu.binary @moec_kernels of PTX for
// the chip, libdevice linked (no __nv_* call left for erf), the host side on the mgpu*
// runtime with device buffers and the weight read through moec_rt_gpu_constant, and the
// runtime's entry point. All GPU work goes on one stream, in order: the weight's copy is
// taken first, the input copied to the device, the three kernels launched, the result
// copied back and the buffers freed, and the host waits once, before returning.

// CHECK-LABEL: llvm.func @moec_model_entry
// CHECK: llvm.call @moec_rt_gpu_constant
// CHECK: %[[S:.*]] = llvm.call @mgpuStreamCreate()
// CHECK: llvm.call @mgpuMemAlloc(%{{.*}}, %[[S]], %{{.*}})
// CHECK: llvm.call @mgpuMemcpy(%{{.*}}, %{{.*}}, %{{.*}}, %[[S]])
// CHECK-COUNT-3: gpu.launch_func <%[[S]] : !llvm.ptr> @moec_kernels::@{{.*}} blocks in
// CHECK: llvm.call @mgpuMemcpy(%{{.*}}, %{{.*}}, %{{.*}}, %[[S]])
// CHECK: llvm.call @mgpuMemFree(%{{.*}}, %[[S]])
// CHECK: llvm.call @mgpuStreamSynchronize(%[[S]])
// CHECK-NEXT: llvm.call @mgpuStreamDestroy(%[[S]])
// CHECK-NEXT: llvm.return
// CHECK: llvm.func @moec_model_run(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// SYNC-COUNT-1: llvm.call @mgpuStreamSynchronize
// SYNC-NOT: llvm.call @mgpuStreamSynchronize
// BINARY-NOT: gpu.module
// BINARY: gpu.binary @moec_kernels [#gpu.object<#nvvm.target<chip = "sm_90a", features = "+ptx90", link = [{{.*}}libdevice.10.bc"]>
// BINARY-SAME: assembly = "{{.*}}.target sm_90a
// BINARY-NOT: __nv_
// BINARY-NOT: gpu.binary
// BINARY-NOT: gpu.module
func.func @main(%x: tensor<8x4xf32>) -> tensor<8x3xf32> {
  %w = arith.constant dense<0.5> : tensor<4x3xf32>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<8x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x3xf32>) -> tensor<8x3xf32>
  %mm = linalg.matmul ins(%x, %w : tensor<8x4xf32>, tensor<4x3xf32>) outs(%init : tensor<8x3xf32>) -> tensor<8x3xf32>
  %erf = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                         iterator_types = ["parallel", "parallel"]}
      ins(%mm : tensor<8x3xf32>) outs(%empty : tensor<8x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.erf %in : f32
    linalg.yield %e : f32
  } -> tensor<8x3xf32>
  return %erf : tensor<8x3xf32>
}
