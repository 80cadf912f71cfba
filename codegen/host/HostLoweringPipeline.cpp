//===- HostLoweringPipeline.cpp - Tensors to the LLVM dialect for the host ===//

#include "moec/Codegen/Host/Passes.h"

#include "moec/Codegen/Common/Passes.h"

#include "mlir/Pass/PassManager.h"

using namespace mlir;

void moec::buildHostLoweringPipeline(OpPassManager &pm, const HostLoweringOptions &options) {
  buildTensorLevelPipeline(pm);
  if (options.runtimeMoEKernels)
    pm.addPass(createLowerMoEKernelsToRuntime());
  pm.addPass(createLowerMoEKernelsToLoops());
  buildBufferizationPipeline(pm, options.entry);
  pm.addPass(createUseRuntimeGemm());

  GenerateEntryPointOptions entryOptions;
  entryOptions.entry = options.entry;
  pm.addPass(createGenerateEntryPoint(entryOptions));
  if (options.approximateMath)
    pm.addPass(createApproximateMathFunctions());
  if (options.reassociateReductions)
    pm.addPass(createReassociateReductions());

  buildHostCodeToLLVMPipeline(pm);
}
