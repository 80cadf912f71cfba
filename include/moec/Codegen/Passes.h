//===- Passes.h - Lowering out of moe and host/GPU code generation --------===//

#ifndef MOEC_CODEGEN_PASSES_H
#define MOEC_CODEGEN_PASSES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace moec {

#define GEN_PASS_DECL
#include "codegen/Passes.h.inc"

/// Options of the lowering from tensors (tosa, linalg, tensor, arith, math) to the LLVM
/// dialect for the host.
struct HostLoweringOptions {
  /// The function the model runs.
  std::string entry = "main";
  /// Run the kernel-level moe ops on the runtime's hand-written kernels; otherwise (and
  /// for any op those cannot take) they run as the loop kernels of
  /// moec-lower-moe-kernels-to-loops, the ones a GPU runs.
  bool runtimeMoEKernels = true;
};

/// Adds the passes that take a module at the tensor level to the LLVM dialect, with the
/// runtime's entry point. The model info must have been exported before legalization
/// (ExportModelInfo), while the signature still has ONNX's types.
void buildHostLoweringPipeline(mlir::OpPassManager &pm, const HostLoweringOptions &options);

/// The tensor level, as every target starts it: tosa to linalg, elementwise chains fused.
void buildTensorLevelPipeline(mlir::OpPassManager &pm);

/// One-shot bufferization of the whole module with identity layouts at the entry function
/// `entry` (whose inputs stay read-only), then the ownership-based deallocation, which hands
/// every returned buffer to the caller.
void buildBufferizationPipeline(mlir::OpPassManager &pm, llvm::StringRef entry);

/// The host's code after bufferization to the LLVM dialect: linalg to loops, math to
/// functions and libm, strided metadata, affine and scf to cf, then everything to LLVM.
/// `beforeMemRefToLLVM` adds passes that must see the memref types still (the GPU
/// pipeline's host side).
void buildHostCodeToLLVMPipeline(
    mlir::OpPassManager &pm,
    llvm::function_ref<void(mlir::OpPassManager &)> beforeMemRefToLLVM = nullptr);

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

/// Registers the `moec-gpu-lowering` pipeline.
void registerGpuLoweringPipeline();

/// Registers the codegen passes and the `moec-host-lowering` and `moec-gpu-lowering`
/// pipelines.
void registerCodegenPasses();

#define GEN_PASS_REGISTRATION
#include "codegen/Passes.h.inc"

} // namespace moec

#endif // MOEC_CODEGEN_PASSES_H
