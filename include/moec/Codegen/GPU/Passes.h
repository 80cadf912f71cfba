//===- Passes.h - Code generation for NVIDIA GPUs -------------------------===//

#ifndef MOEC_CODEGEN_GPU_PASSES_H
#define MOEC_CODEGEN_GPU_PASSES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace moec {

#define GEN_PASS_DECL
#include "codegen/gpu/Passes.h.inc"

/// The gpu.module (and then gpu.binary) that holds every kernel of a model.
inline const char *const kKernelModuleName = "moec_kernels";

/// Options of the lowering from tensors to the LLVM dialect with kernels for a CUDA GPU.
struct GpuLoweringOptions {
  /// The function the model runs.
  std::string entry = "main";
  /// The CUDA chip: sm_80, sm_89, sm_90 or sm_90a.
  std::string chip = "sm_80";
  /// The CUDA toolkit's libdevice, linked into the kernels for their math functions.
  std::string libdevicePath;
  /// A CUDA toolkit with ptxas and fatbinary: the kernels are embedded as a fatbin holding
  /// the chip's cubin and their PTX. Empty: as PTX alone, which the driver compiles when the
  /// program loads it.
  std::string assemblerToolkitPath;
};

/// Adds the passes that take a module at the tensor level to the LLVM dialect, with every
/// kernel in one `gpu.binary @moec_kernels` (PTX for `options.chip`) launched through the
/// `mgpu*` runtime functions, and the runtime's entry point (docs/gpu-codegen.md).
void buildGpuLoweringPipeline(mlir::OpPassManager &pm, const GpuLoweringOptions &options);

#define GEN_PASS_REGISTRATION
#include "codegen/gpu/Passes.h.inc"

} // namespace moec

#endif // MOEC_CODEGEN_GPU_PASSES_H
