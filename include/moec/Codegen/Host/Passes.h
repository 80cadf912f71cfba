//===- Passes.h - Code generation for the host CPU ------------------------===//

#ifndef MOEC_CODEGEN_HOST_PASSES_H
#define MOEC_CODEGEN_HOST_PASSES_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace moec {

#define GEN_PASS_DECL
#include "codegen/host/Passes.h.inc"

/// Options of the lowering from tensors (tosa, linalg, tensor, arith, math) to the LLVM
/// dialect for the host.
struct HostLoweringOptions {
  /// The function the model runs.
  std::string entry = "main";
  /// Run the kernel-level moe ops on the runtime's hand-written kernels; otherwise (and
  /// for any op those cannot take) they run as the loop kernels of
  /// moec-lower-moe-kernels-to-loops, the ones a GPU runs.
  bool runtimeMoEKernels = true;
  /// Compute f32 exp, log, tanh and erf with moec-approximate-math-functions' polynomials,
  /// which vectorize, instead of libm's scalar calls.
  bool approximateMath = true;
  /// Let LLVM vectorize float reductions (moec-reassociate-reductions), which adds them in
  /// another order than the sequential loop.
  bool reassociateReductions = true;
};

/// Adds the passes that take a module at the tensor level to the LLVM dialect, with the
/// runtime's entry point. The model info must have been exported before legalization
/// (ExportModelInfo), while the signature still has ONNX's types.
void buildHostLoweringPipeline(mlir::OpPassManager &pm, const HostLoweringOptions &options);

#define GEN_PASS_REGISTRATION
#include "codegen/host/Passes.h.inc"

} // namespace moec

#endif // MOEC_CODEGEN_HOST_PASSES_H
