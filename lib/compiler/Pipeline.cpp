//===- Pipeline.cpp - moec's stages after import --------------------------===//

#include "moec/Compiler/Pipeline.h"

#include "moec/Codegen/Common/Passes.h"
#include "moec/Codegen/GPU/CudaTarget.h"
#include "moec/Codegen/GPU/Passes.h"
#include "moec/Codegen/Host/Passes.h"
#include "moec/Passes/Decompose/Passes.h"
#include "moec/Passes/Legalize/Passes.h"
#include "moec/Passes/ONNX/Passes.h"
#include "moec/Passes/Optimize/Quantize/Passes.h"
#include "moec/Passes/Optimize/Fusion/Passes.h"
#include "moec/Passes/Raise/Passes.h"
#include "moec/Passes/Shard/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// The fusions of the kernel level around the up projection, in the order they run; each
/// optional. They run right after the decomposition, on the plain form it emits
/// (docs/moec.md, "Fusion").
static SmallVector<std::unique_ptr<Pass>> createUpProjectionFusionPasses() {
  SmallVector<std::unique_ptr<Pass>> passes;
  passes.push_back(moec::createFuseGatherIntoGroupedMatmul());
  passes.push_back(moec::createFuseActivationIntoGroupedMatmul());
  return passes;
}

/// The kernel level's optional passes for the host only, for `options`' target: the
/// router fusion, the decode shortcut and the combine epilogue, which have host kernels
/// only (the combine's in f32: not with bf16 expert GEMMs, which the host shows but does
/// not compile). They run after expert sharding, which matches the permute and the
/// unpermute they change.
static SmallVector<std::unique_ptr<Pass>>
createHostFusionPasses(const moec::PipelineOptions &options) {
  SmallVector<std::unique_ptr<Pass>> passes;
  if (options.target != "host")
    return passes;
  passes.push_back(moec::createFuseRouterMatmulIntoRoute());
  passes.push_back(moec::createShortcutPermuteForFewTokens());
  if (!options.bf16ExpertMatmuls)
    passes.push_back(moec::createFuseCombineIntoGroupedMatmul());
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

/// The host pass that replaces libm's f32 calls by polynomials; disabled, they stay calls.
static std::string approximateMathPassName() {
  return moec::createApproximateMathFunctions()->getArgument().str();
}

/// The host pass that lets float reductions be reassociated; disabled, they stay in order.
static std::string reassociateReductionsPassName() {
  return moec::createReassociateReductions()->getArgument().str();
}

/// The raise stage's passes for `options`, in the order they run. Each is optional, so
/// this one list also names what `--disable-pass` accepts.
static SmallVector<std::unique_ptr<Pass>>
createRaisePasses(const moec::PipelineOptions &options) {
  SmallVector<std::unique_ptr<Pass>> passes;
  passes.push_back(moec::createRaiseORTMoE());
  // Only the host's runtime kernels read quantized expert weights.
  moec::RaiseORTQMoEOptions qmoeOptions;
  qmoeOptions.quantizedKernels =
      options.target == "host" &&
      !llvm::is_contained(options.disabledPasses, runtimeMoEKernelsPassName());
  passes.push_back(moec::createRaiseORTQMoE(qmoeOptions));
  passes.push_back(moec::createRaiseHFMoE());
  passes.push_back(moec::createRaiseSplitMoE());
  passes.push_back(moec::createRaiseProductKeyMoE());
  passes.push_back(moec::createRaiseDenseMoE());
  passes.push_back(moec::createRaiseGatheredMoE());
  passes.push_back(moec::createRaiseGroupedMoE());
  return passes;
}

/// Adds those of `passes` that `options` does not disable to `pm`, in order.
static void addEnabledPasses(OpPassManager &pm, SmallVector<std::unique_ptr<Pass>> passes,
                             const moec::PipelineOptions &options) {
  for (std::unique_ptr<Pass> &pass : passes)
    if (!llvm::is_contained(options.disabledPasses, pass->getArgument().str()))
      pm.addPass(std::move(pass));
}

/// The Optimize stage's quantization, which runs with --quantize unless disabled.
static std::string quantizePassName() {
  return moec::createQuantizeExpertWeights()->getArgument().str();
}

std::vector<std::string> moec::getOptionalPassNames() {
  std::vector<std::string> names{simplifyGraphPassName()};
  for (const std::unique_ptr<Pass> &pass : createRaisePasses(PipelineOptions()))
    names.push_back(pass->getArgument().str());
  names.push_back(quantizePassName());
  for (const std::unique_ptr<Pass> &pass : createUpProjectionFusionPasses())
    names.push_back(pass->getArgument().str());
  for (const std::unique_ptr<Pass> &pass : createHostFusionPasses(PipelineOptions()))
    names.push_back(pass->getArgument().str());
  names.push_back(runtimeMoEKernelsPassName());
  names.push_back(approximateMathPassName());
  names.push_back(reassociateReductionsPassName());
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
    addEnabledPasses(pm, createRaisePasses(options), options);
    return;
  case Stage::Optimize:
    if (options.quantize != Quantization::None &&
        !llvm::is_contained(options.disabledPasses, quantizePassName())) {
      QuantizeExpertWeightsOptions quantizeOptions;
      quantizeOptions.bits = options.quantize == Quantization::Int4 ? 4 : 8;
      quantizeOptions.fp8 = options.quantize == Quantization::FP8;
      quantizeOptions.groupSize = options.quantizeGroupSize;
      quantizeOptions.schemeName = options.quantizeAsymmetric ? "asymmetric" : "symmetric";
      quantizeOptions.report = options.quantizeReport;
      quantizeOptions.configPath = options.quantizeConfigPath;
      pm.addPass(createQuantizeExpertWeights(quantizeOptions));
    }
    return;
  case Stage::Kernel: {
    // The runtime's description of the model is taken while the signature still has
    // ONNX's types (signedness included).
    ExportModelInfoOptions infoOptions;
    infoOptions.target = options.target;
    pm.addPass(createExportModelInfo(infoOptions));
    // onnxruntime's fused ops and ONNX's newer function ops become older ONNX nodes only
    // now, after raising, which matches them as the model has them (com.microsoft.MoE);
    // their new nodes need types.
    pm.addPass(createExpandContribOps());
    pm.addPass(createExpandFunctionOps());
    // Quantized ops that no raise took dequantize their weights at run time.
    pm.addPass(createExpandQuantizedOps());
    InferTypesOptions typesOptions;
    typesOptions.checkDeclaredDims = true;
    pm.addPass(createInferTypes(typesOptions));
    LegalizeONNXOptions legalizeOptions;
    legalizeOptions.runtimeChecks = options.runtimeChecks;
    pm.addPass(createLegalizeONNX(legalizeOptions));
    pm.addPass(createDecomposeMoELayers());
    addEnabledPasses(pm, createUpProjectionFusionPasses(), options);
    // Sharding matches the up projection's fused kernel, the permute and the unpermute, so
    // it runs between the up projection's fusions and the host's.
    if (options.shardRanks > 1)
      pm.addPass(createShardExperts({options.shardRanks, options.shardRank,
                                     options.shardProfile, options.shardReplicateHot,
                                     options.shardPlacement}));
    addEnabledPasses(pm, createHostFusionPasses(options), options);
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
      hostOptions.approximateMath =
          !llvm::is_contained(options.disabledPasses, approximateMathPassName());
      hostOptions.reassociateReductions =
          !llvm::is_contained(options.disabledPasses, reassociateReductionsPassName());
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

/// The stages runPipeline runs, in order.
static constexpr moec::Stage kPipelineStages[] = {moec::Stage::Clean, moec::Stage::Raise,
                                                  moec::Stage::Optimize, moec::Stage::Kernel,
                                                  moec::Stage::Codegen};

StringRef moec::getStageName(Stage stage) {
  switch (stage) {
  case Stage::Import:
    return "import";
  case Stage::Clean:
    return "clean";
  case Stage::Raise:
    return "raise";
  case Stage::Optimize:
    return "optimize";
  case Stage::Kernel:
    return "kernel";
  case Stage::Codegen:
    return "codegen";
  }
  llvm_unreachable("unknown stage");
}

/// A nested pass manager, which has no argument of its own, as its textual pipeline without
/// the passes' options: `func.func(tosa-to-linalg-named,...)`.
static std::string printNestedPassNames(Pass &adaptor) {
  std::string pipeline;
  llvm::raw_string_ostream os(pipeline);
  adaptor.printAsTextualPipeline(os);
  std::string names;
  int optionDepth = 0;
  for (char c : pipeline) {
    optionDepth += c == '{';
    if (optionDepth == 0)
      names += c;
    optionDepth -= c == '}';
  }
  return names;
}

std::vector<moec::PipelinePass> moec::describePipeline(const PipelineOptions &options) {
  std::vector<std::string> optional = getOptionalPassNames();
  // Every pass the stages can have for this target, disabled ones included.
  PipelineOptions everyPass = options;
  everyPass.disabledPasses.clear();
  std::vector<PipelinePass> passes;
  for (Stage stage : kPipelineStages) {
    OpPassManager pm(ModuleOp::getOperationName());
    buildStagePipeline(pm, stage, everyPass);
    for (Pass &pass : pm.getPasses()) {
      std::string name = pass.getArgument().str();
      if (name.empty())
        name = printNestedPassNames(pass);
      bool isOptional = llvm::is_contained(optional, name);
      bool enabled = stage <= options.stopAfter &&
                     !(isOptional && llvm::is_contained(options.disabledPasses, name));
      passes.push_back({stage, name, isOptional, enabled});
    }
  }
  return passes;
}

LogicalResult moec::runPipeline(ModuleOp module, const PipelineOptions &options, Stage first,
                                TimingScope *timing) {
  if (std::optional<std::string> unknown = findUnknownPassName(options.disabledPasses))
    return module.emitError() << "--disable-pass=" << *unknown
                              << ": no optional pass has that name (see docs/moec.md)";
  for (Stage stage : kPipelineStages) {
    if (stage > options.stopAfter)
      break;
    if (stage < first)
      continue;
    PassManager pm(module.getContext());
    buildStagePipeline(pm, stage, options);
    if (options.passManagerCommandLine && failed(applyPassManagerCLOptions(pm)))
      return failure();
    std::optional<TimingScope> stageTiming;
    if (timing) {
      std::string scopeName = ("stage " + getStageName(stage)).str();
      stageTiming = timing->nest(StringRef(scopeName));
      pm.enableTiming(*stageTiming);
    }
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

/// The options of the Optimize stage, as moec's --quantize, --quantize-group and
/// --quantize-config take them.
struct OptimizePipelineOptions : PassPipelineOptions<OptimizePipelineOptions> {
  Option<moec::Quantization> quantize{
      *this, "quantize", llvm::cl::desc("Quantize the constant expert weights"),
      llvm::cl::init(moec::Quantization::None),
      llvm::cl::values(
          clEnumValN(moec::Quantization::None, "none", "keep f32"),
          clEnumValN(moec::Quantization::Int8, "int8", "int8, group-wise"),
          clEnumValN(moec::Quantization::Int4, "int4", "int4, group-wise"),
          clEnumValN(moec::Quantization::FP8, "fp8", "fp8 e4m3, 128 x 128 block scales"))};
  Option<int64_t> quantizeGroup{*this, "quantize-group",
                                llvm::cl::desc("Rows of K that share one scale"),
                                llvm::cl::init(128)};
  Option<std::string> quantizeConfig{
      *this, "quantize-config",
      llvm::cl::desc("JSON overrides per layer and weight (docs/quantization.md)")};
  Option<bool> quantizeAsymmetric{
      *this, "quantize-asymmetric",
      llvm::cl::desc("Unsigned integers with a zero point per group (--quantize-scheme)"),
      llvm::cl::init(false)};

  moec::PipelineOptions getPipelineOptions() const {
    moec::PipelineOptions options;
    options.quantize = quantize;
    options.quantizeGroupSize = quantizeGroup;
    options.quantizeAsymmetric = quantizeAsymmetric;
    options.quantizeConfigPath = quantizeConfig;
    return options;
  }
};

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
  PassPipelineRegistration<OptimizePipelineOptions>(
      "moe-optimize",
      "moec's Optimize stage on moe ops: with quantize=int8|int4|fp8, quantize the constant "
      "expert weights (moec-quantize-expert-weights); otherwise empty",
      [](OpPassManager &pm, const OptimizePipelineOptions &options) {
        buildStagePipeline(pm, Stage::Optimize, options.getPipelineOptions());
      });
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
