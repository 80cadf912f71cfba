//===- Pipeline.cpp - moec's stages after import --------------------------===//

#include "moec/Compiler/Pipeline.h"

#include "moec/Codegen/Common/Passes.h"
#include "moec/Codegen/GPU/CudaTarget.h"
#include "moec/Codegen/GPU/Passes.h"
#include "moec/Codegen/Host/Passes.h"
#include "moec/Passes/Decompose/Passes.h"
#include "moec/Passes/Legalize/Passes.h"
#include "moec/Passes/ONNX/Passes.h"
#include "moec/Passes/Raise/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// The raise stage's passes, in the order they run. Each is optional, so this one list also
/// names what `--disable-pass` accepts.
static SmallVector<std::unique_ptr<Pass>> createRaisePasses() {
  SmallVector<std::unique_ptr<Pass>> passes;
  passes.push_back(moec::createRaiseORTMoE());
  passes.push_back(moec::createRaiseHFMoE());
  passes.push_back(moec::createRaiseDenseMoE());
  passes.push_back(moec::createRaiseGatheredMoE());
  passes.push_back(moec::createRaiseGroupedMoE());
  return passes;
}

/// The clean-up that raising matches after; optional, for ablations.
static std::string simplifyGraphPassName() {
  return moec::createSimplifyGraph()->getArgument().str();
}

/// The codegen pass that runs the moe kernels on the runtime's host kernels; disabled, the
/// host runs the loop kernels a GPU runs instead.
static std::string runtimeMoEKernelsPassName() {
  return moec::createLowerMoEKernelsToRuntime()->getArgument().str();
}

std::vector<std::string> moec::getOptionalPassNames() {
  std::vector<std::string> names{simplifyGraphPassName()};
  for (const std::unique_ptr<Pass> &pass : createRaisePasses())
    names.push_back(pass->getArgument().str());
  names.push_back(runtimeMoEKernelsPassName());
  return names;
}

std::optional<std::string> moec::findUnknownPassName(ArrayRef<std::string> names) {
  std::vector<std::string> optional = getOptionalPassNames();
  for (const std::string &name : names)
    if (!llvm::is_contained(optional, name))
      return name;
  return std::nullopt;
}

void moec::buildStagePipeline(OpPassManager &pm, Stage stage, const PipelineOptions &options) {
  switch (stage) {
  case Stage::Import:
    return;
  case Stage::Clean:
    pm.addPass(createInferTypes());
    if (!llvm::is_contained(options.disabledPasses, simplifyGraphPassName()))
      pm.addPass(createSimplifyGraph());
    return;
  case Stage::Raise:
    for (std::unique_ptr<Pass> &pass : createRaisePasses())
      if (!llvm::is_contained(options.disabledPasses, pass->getArgument().str()))
        pm.addPass(std::move(pass));
    return;
  case Stage::Optimize:
    return;
  case Stage::Kernel: {
    // The runtime's description of the model is taken while the signature still has
    // ONNX's types (signedness included).
    ExportModelInfoOptions infoOptions;
    infoOptions.target = options.target;
    pm.addPass(createExportModelInfo(infoOptions));
    // onnxruntime's fused ops become ONNX nodes only now, after raising, which matches
    // them as the model has them (com.microsoft.MoE); their new nodes need types.
    pm.addPass(createExpandContribOps());
    // Quantized ops that no raise took dequantize their weights at run time.
    pm.addPass(createExpandQuantizedOps());
    pm.addPass(createInferTypes());
    LegalizeONNXOptions legalizeOptions;
    legalizeOptions.runtimeChecks = options.runtimeChecks;
    pm.addPass(createLegalizeONNX(legalizeOptions));
    pm.addPass(createDecomposeMoELayers());
    if (options.bf16ExpertMatmuls)
      pm.addPass(createGroupedMatmulToBF16());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    return;
  }
  case Stage::Codegen: {
    if (options.target == "host") {
      HostLoweringOptions hostOptions;
      hostOptions.runtimeMoEKernels =
          !llvm::is_contained(options.disabledPasses, runtimeMoEKernelsPassName());
      buildHostLoweringPipeline(pm, hostOptions);
      return;
    }
    GpuLoweringOptions gpuOptions;
    gpuOptions.chip = options.target;
    gpuOptions.libdevicePath = options.libdevicePath;
    gpuOptions.assemblerToolkitPath = options.assemblerToolkitPath;
    buildGpuLoweringPipeline(pm, gpuOptions);
    return;
  }
  }
}

LogicalResult moec::runPipeline(ModuleOp module, const PipelineOptions &options) {
  if (std::optional<std::string> unknown = findUnknownPassName(options.disabledPasses))
    return module.emitError() << "--disable-pass=" << *unknown
                              << ": no optional pass has that name (see docs/moec.md)";
  for (Stage stage : {Stage::Clean, Stage::Raise, Stage::Optimize, Stage::Kernel, Stage::Codegen}) {
    if (stage > options.stopAfter)
      break;
    PassManager pm(module.getContext());
    buildStagePipeline(pm, stage, options);
    if (failed(pm.run(module)))
      return failure();
  }
  return success();
}

namespace {

/// Adds the stages from `first` to `last` to `pm`.
void buildStages(OpPassManager &pm, moec::Stage first, moec::Stage last,
                 const moec::PipelineOptions &options) {
  for (int stage = static_cast<int>(first); stage <= static_cast<int>(last); ++stage)
    moec::buildStagePipeline(pm, static_cast<moec::Stage>(stage), options);
}

/// The option of a named pipeline whose stages have optional passes.
struct OptionalPassesPipelineOptions : PassPipelineOptions<OptionalPassesPipelineOptions> {
  ListOption<std::string> disabledPasses{
      *this, "disable-passes",
      llvm::cl::desc("Optional passes not to run, as moec's --disable-pass takes them")};

  /// The options, or failure after reporting a name that no optional pass has.
  FailureOr<moec::PipelineOptions>
  getPipelineOptions(function_ref<LogicalResult(const Twine &)> errorHandler) const {
    moec::PipelineOptions options;
    options.disabledPasses.assign(disabledPasses.begin(), disabledPasses.end());
    if (std::optional<std::string> unknown = moec::findUnknownPassName(options.disabledPasses))
      return errorHandler("disable-passes=" + *unknown + ": no optional pass has that name");
    return options;
  }
};

/// Registers a pipeline of stages that skip the optional passes its options name.
void registerOptionalPassesPipeline(StringRef name, StringRef description, moec::Stage first,
                                    moec::Stage last) {
  registerPassPipeline(
      name, description,
      [first, last](OpPassManager &pm, StringRef text,
                    function_ref<LogicalResult(const Twine &)> errorHandler) {
        OptionalPassesPipelineOptions parsed;
        if (failed(parsed.parseFromString(text)))
          return failure();
        FailureOr<moec::PipelineOptions> options = parsed.getPipelineOptions(errorHandler);
        if (failed(options))
          return failure();
        buildStages(pm, first, last, *options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> printOptions) {
        printOptions(OptionalPassesPipelineOptions());
      });
}

/// The options of a pipeline that lowers for a CUDA chip.
template <typename Derived>
struct GpuTargetPipelineOptions : PassPipelineOptions<Derived> {
  using Base = PassPipelineOptions<Derived>;
  typename Base::template Option<std::string> chip{
      *this, "chip", llvm::cl::desc("CUDA chip: sm_80, sm_89, sm_90, sm_90a"),
      llvm::cl::init("sm_80")};
  typename Base::template Option<std::string> libdevice{
      *this, "libdevice",
      llvm::cl::desc("libdevice to link into the kernels (default: the CUDA toolkit's)")};
  typename Base::template Option<std::string> assemblerToolkit{
      *this, "assembler-toolkit",
      llvm::cl::desc("CUDA toolkit whose ptxas and fatbinary make the kernels a fatbin of "
                     "cubin and PTX (default: none, the kernels stay PTX)")};

  moec::PipelineOptions getPipelineOptions() const {
    moec::PipelineOptions options;
    options.target = chip;
    options.libdevicePath = libdevice;
    std::string searched;
    if (options.libdevicePath.empty())
      options.libdevicePath = moec::findLibdevice(searched).value_or("");
    options.assemblerToolkitPath = assemblerToolkit;
    return options;
  }
};

struct GpuLoweringPipelineOptions : GpuTargetPipelineOptions<GpuLoweringPipelineOptions> {};

struct NVVMLoweringPipelineOptions : GpuTargetPipelineOptions<NVVMLoweringPipelineOptions> {
  Option<bool> bf16ExpertMatmuls{
      *this, "bf16-expert-matmuls",
      llvm::cl::desc("Run the expert GEMMs of f32 models in bf16 with f32 accumulation, as "
                     "moec's --precision=bf16")};
};

} // namespace

void moec::registerMoECPipelines() {
  registerOptionalPassesPipeline(
      "moe-clean",
      "moec's Clean stage: infer every value's type at the onnx level and bring the graph to "
      "the one form raising matches (moec-simplify-graph)",
      Stage::Clean, Stage::Clean);
  registerOptionalPassesPipeline(
      "moe-raise", "moec's Raise stage: replace the MoE layers of the onnx level with moe.layer",
      Stage::Raise, Stage::Raise);
  // Fusion, quantization and sharding passes are not in this build: the stage is empty,
  // and so without options, until they are.
  PassPipelineRegistration<>(
      "moe-optimize", "moec's Optimize stage on moe ops (empty in this build)",
      [](OpPassManager &pm) { buildStagePipeline(pm, Stage::Optimize, PipelineOptions()); });
  registerOptionalPassesPipeline(
      "moe-lower-to-host",
      "moec's Kernel and Codegen stages for the host: a module of moe, onnx and upstream "
      "tensor-level ops to the LLVM dialect, with the runtime's entry point",
      Stage::Kernel, Stage::Codegen);
  PassPipelineRegistration<NVVMLoweringPipelineOptions>(
      "moe-lower-to-nvvm",
      "moec's Kernel and Codegen stages for a CUDA chip: a module of moe, onnx and upstream "
      "tensor-level ops to the LLVM dialect with its kernels as PTX, and the runtime's entry "
      "point",
      [](OpPassManager &pm, const NVVMLoweringPipelineOptions &nvvmOptions) {
        PipelineOptions options = nvvmOptions.getPipelineOptions();
        options.bf16ExpertMatmuls = nvvmOptions.bf16ExpertMatmuls;
        buildStages(pm, Stage::Kernel, Stage::Codegen, options);
      });

  PassPipelineRegistration<>(
      "moec-host-lowering",
      "Lower a model at the tensor level to the LLVM dialect for the host, with the "
      "runtime's entry point",
      [](OpPassManager &pm) { buildStagePipeline(pm, Stage::Codegen, PipelineOptions()); });
  PassPipelineRegistration<GpuLoweringPipelineOptions>(
      "moec-gpu-lowering",
      "Lower a model at the tensor level to the LLVM dialect with its kernels as PTX for a "
      "CUDA GPU, with the runtime's entry point",
      [](OpPassManager &pm, const GpuLoweringPipelineOptions &options) {
        buildStagePipeline(pm, Stage::Codegen, options.getPipelineOptions());
      });
}
