// REQUIRES: libdevice
// RUN: moe-opt %s -moec-gpu-lowering="chip=sm_90a libdevice=%libdevice" -o %t
// RUN: FileCheck %s < %t
// RUN: FileCheck %s --check-prefix=BINARY < %t
// The GPU pipeline from tensors: every kernel in one gpu.binary @moec_kernels of PTX for
// the chip, libdevice linked (no __nv_* call left for erf), the host side on the mgpu*
// runtime with managed buffers and the weight read through moec_rt_gpu_constant, and the
// runtime's entry point.

// CHECK-DAG: llvm.call @moec_rt_gpu_constant
// CHECK-DAG: llvm.call @mgpuMemAlloc
// CHECK-DAG: llvm.call @mgpuMemFree
// CHECK-DAG: gpu.launch_func @moec_kernels::@{{.*}} blocks in
// CHECK-DAG: llvm.func @moec_model_run(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
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
