//===- Passes.h - Code generation shared by every target ------------------===//
//
// The tensor-level, bufferization and host-code-to-LLVM pipelines that the host and GPU
// pipelines both build on, and the passes they share: the entry point, the model info,
// the kernel-level moe ops as loops.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_COMMON_PASSES_H
#define MOEC_CODEGEN_COMMON_PASSES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace moec {

#define GEN_PASS_DECL
#include "codegen/common/Passes.h.inc"

/// The tensor level, as every target starts it: tosa to linalg, elementwise chains fused.
void buildTensorLevelPipeline(mlir::OpPassManager &pm);

/// One-shot bufferization of the whole module with identity layouts at the entry function
/// `entry` (whose inputs stay read-only), then the ownership-based deallocation, which hands
/// every returned buffer to the caller.
void buildBufferizationPipeline(mlir::OpPassManager &pm, llvm::StringRef entry);

/// The host's code after bufferization to the LLVM dialect: linalg to loops, math to
/// functions and libm, strided metadata, affine and scf to cf, then everything to LLVM;
/// moe.check first becomes a call of the runtime on failure.
/// `beforeMemRefToLLVM` adds passes that must see the memref types still (the GPU
/// pipeline's host side).
void buildHostCodeToLLVMPipeline(
    mlir::OpPassManager &pm,
    llvm::function_ref<void(mlir::OpPassManager &)> beforeMemRefToLLVM = nullptr);

#define GEN_PASS_REGISTRATION
#include "codegen/common/Passes.h.inc"

} // namespace moec

#endif // MOEC_CODEGEN_COMMON_PASSES_H
