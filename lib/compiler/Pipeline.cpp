//===- Pipeline.cpp - moec's stages after import --------------------------===//

#include "moec/Compiler/Pipeline.h"

#include "moec/Codegen/Common/Passes.h"
#include "moec/Codegen/GPU/Passes.h"
#include "moec/Codegen/Host/Passes.h"
#include "moec/Passes/Decompose/Passes.h"
#include "moec/Passes/Legalize/Passes.h"
#include "moec/Passes/ONNX/Passes.h"
#include "moec/Passes/Raise/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// The raise stage's passes, in the order they run. Each is optional, so this one list also
/// names what `--disable-pass` accepts.
static SmallVector<std::unique_ptr<Pass>> createRaisePasses() {
  SmallVector<std::unique_ptr<Pass>> passes;
  passes.push_back(moec::createRaiseORTMoE());
  passes.push_back(moec::createRaiseHFMoE());
  passes.push_back(moec::createRaiseDenseMoE());
  return passes;
}

/// The codegen pass that runs the moe kernels on the runtime's host kernels; disabled, the
/// host runs the loop kernels a GPU runs instead.
static std::string runtimeMoEKernelsPassName() {
  return moec::createLowerMoEKernelsToRuntime()->getArgument().str();
}

std::vector<std::string> moec::getOptionalPassNames() {
  std::vector<std::string> names;
  for (const std::unique_ptr<Pass> &pass : createRaisePasses())
    names.push_back(pass->getArgument().str());
  names.push_back(runtimeMoEKernelsPassName());
  return names;
}

/// Adds the passes of `stage` to `pm`, less those `options` disables.
static void buildStage(OpPassManager &pm, moec::Stage stage,
                       const moec::PipelineOptions &options) {
  switch (stage) {
  case moec::Stage::Import:
    return;
  case moec::Stage::Clean:
    pm.addPass(moec::createInferTypes());
    return;
  case moec::Stage::Raise:
    for (std::unique_ptr<Pass> &pass : createRaisePasses())
      if (!llvm::is_contained(options.disabledPasses, pass->getArgument().str()))
        pm.addPass(std::move(pass));
    return;
  case moec::Stage::Optimize:
    return;
  case moec::Stage::Kernel: {
    // The runtime's description of the model is taken while the signature still has
    // ONNX's types (signedness included).
    moec::ExportModelInfoOptions infoOptions;
    infoOptions.target = options.target;
    pm.addPass(moec::createExportModelInfo(infoOptions));
    moec::LegalizeONNXOptions legalizeOptions;
    legalizeOptions.runtimeChecks = options.runtimeChecks;
    pm.addPass(moec::createLegalizeONNX(legalizeOptions));
    pm.addPass(moec::createDecomposeMoELayers());
    if (options.bf16ExpertMatmuls)
      pm.addPass(moec::createGroupedMatmulToBF16());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    return;
  }
  case moec::Stage::Codegen: {
    if (options.target == "host") {
      moec::HostLoweringOptions hostOptions;
      hostOptions.runtimeMoEKernels =
          !llvm::is_contained(options.disabledPasses, runtimeMoEKernelsPassName());
      moec::buildHostLoweringPipeline(pm, hostOptions);
      return;
    }
    moec::GpuLoweringOptions gpuOptions;
    gpuOptions.chip = options.target;
    gpuOptions.libdevicePath = options.libdevicePath;
    gpuOptions.assemblerToolkitPath = options.assemblerToolkitPath;
    moec::buildGpuLoweringPipeline(pm, gpuOptions);
    return;
  }
  }
}

LogicalResult moec::runPipeline(ModuleOp module, const PipelineOptions &options) {
  for (const std::string &name : options.disabledPasses) {
    std::vector<std::string> optional = getOptionalPassNames();
    if (!llvm::is_contained(optional, name))
      return module.emitError() << "--disable-pass=" << name
                                << ": no optional pass has that name (see docs/moec.md)";
  }
  for (Stage stage : {Stage::Clean, Stage::Raise, Stage::Optimize, Stage::Kernel, Stage::Codegen}) {
    if (stage > options.stopAfter)
      break;
    PassManager pm(module.getContext());
    buildStage(pm, stage, options);
    if (failed(pm.run(module)))
      return failure();
  }
  return success();
}
