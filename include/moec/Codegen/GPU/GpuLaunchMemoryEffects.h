//===- GpuLaunchMemoryEffects.h - Memory effects of kernel launches -------===//
//
// Declares the memory effects of `gpu.launch_func`, which upstream leaves undeclared, so
// that the ownership-based buffer deallocation accepts launches among the buffers it
// manages (docs/gpu-codegen.md).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_GPU_GPULAUNCHMEMORYEFFECTS_H
#define MOEC_CODEGEN_GPU_GPULAUNCHMEMORYEFFECTS_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace moec {

/// Attaches a `MemoryEffectOpInterface` model to `gpu.launch_func` when the GPU dialect is
/// loaded: the kernel may read and write every buffer it is given and anything else in
/// memory.
void registerGpuLaunchMemoryEffects(mlir::DialectRegistry &registry);

} // namespace moec

#endif // MOEC_CODEGEN_GPU_GPULAUNCHMEMORYEFFECTS_H
