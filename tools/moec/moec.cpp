//===- moec.cpp - The moec compiler driver --------------------------------===//
//
// `moec MODEL.onnx -o OUT`: parses the command line into CompileOptions and runs the whole
// compile (lib/compiler's moec::compile: import, raise, optimize, kernel, codegen, emit) up to
// the stage and output asked for, printing its diagnostics one line each. What this build
// cannot do yet (quantization, sharding on GPUs) is an error, never a fake result. `moec plan`
// and `moec profile` are commands of their own (Commands.h).
//
// Exit codes: 0 success, 1 a bad command line, a stage this build lacks or a failed link,
// 2 bad input (the model, or an output path that cannot be written).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "moec/Compiler/Compile.h"
#include "moec/Compiler/Pipeline.h"
#include "moec/InitMoEC.h"
#include "moec/Passes/Legalize/Passes.h"
#include "moec/Passes/ONNX/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/Format.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace llvm;

namespace {

enum class Stage { import, clean, raise, optimize, kernel, all };
enum class Emit { exe, lib, obj, ptx, mlir };
enum class Target { host, sm_80, sm_89, sm_90, sm_90a, cuda };
enum class Quantize { none, int8, int4, fp8 };
enum class QuantizeScheme { symmetric, asymmetric };
enum class Precision { model, bf16 };
enum class GpuBinary { automatic, ptx, fatbin };

cl::OptionCategory moecCategory("moec options");

/// moec's command line. Constructed in main, once LLVM's own `-stop-after` (a codegen
/// option of libLLVM) is unregistered, since moec's flag of that name means its stages.
struct Options {
  cl::opt<std::string> inputPath{cl::Positional,
                                 cl::desc("<model.onnx | model.mlir>"),
                                 cl::cat(moecCategory)};
  cl::opt<std::string> outputPath{"o", cl::value_desc("path"),
                                  cl::desc("Output file ('-' for stdout)"),
                                  cl::cat(moecCategory)};
  cl::opt<Target> target{
      "target", cl::desc("Machine to compile for"), cl::init(Target::host),
      cl::values(clEnumValN(Target::host, "host", "the host CPU (x86-64)"),
                 clEnumValN(Target::sm_80, "sm_80", "NVIDIA Ampere"),
                 clEnumValN(Target::sm_89, "sm_89", "NVIDIA Ada"),
                 clEnumValN(Target::sm_90, "sm_90", "NVIDIA Hopper"),
                 clEnumValN(Target::sm_90a, "sm_90a", "NVIDIA Hopper with wgmma and TMA"),
                 clEnumValN(Target::cuda, "cuda",
                            "the GPU nvidia-smi sees now (sm_80 when there is none)")),
      cl::cat(moecCategory)};
  cl::opt<Emit> emit{"emit", cl::desc("What to write"), cl::init(Emit::exe),
                     cl::values(clEnumValN(Emit::exe, "exe", "a standalone executable"),
                                clEnumValN(Emit::lib, "lib", "a shared library with a C ABI"),
                                clEnumValN(Emit::obj, "obj", "an object file"),
                                clEnumValN(Emit::ptx, "ptx", "the kernels' PTX"),
                                clEnumValN(Emit::mlir, "mlir", "MLIR after the last stage run")),
                     cl::cat(moecCategory)};
  cl::opt<Quantize> quantize{
      "quantize", cl::desc("Quantize expert weights"), cl::init(Quantize::none),
      cl::values(clEnumValN(Quantize::none, "none", "keep the model's types"),
                 clEnumValN(Quantize::int8, "int8", "int8, group-wise"),
                 clEnumValN(Quantize::int4, "int4", "int4, group-wise"),
                 clEnumValN(Quantize::fp8, "fp8", "fp8 e4m3 with block scales")),
      cl::cat(moecCategory)};
  cl::opt<int64_t> quantizeGroup{
      "quantize-group", cl::value_desc("rows"), cl::init(128),
      cl::desc("With --quantize=int8|int4: rows of K that share one scale (32, 64, 128); "
               "with fp8: the rows and columns of a block"),
      cl::cat(moecCategory)};
  cl::opt<QuantizeScheme> quantizeScheme{
      "quantize-scheme", cl::desc("With --quantize=int8|int4: how integers stand for weights"),
      cl::init(QuantizeScheme::symmetric),
      cl::values(clEnumValN(QuantizeScheme::symmetric, "symmetric",
                            "signed integers times a scale per group"),
                 clEnumValN(QuantizeScheme::asymmetric, "asymmetric",
                            "unsigned integers less a zero point, times a scale, per group")),
      cl::cat(moecCategory)};
  cl::opt<std::string> quantizeConfig{
      "quantize-config", cl::value_desc("file.json"),
      cl::desc("With --quantize: per-layer and per-weight overrides (docs/quantization.md)"),
      cl::cat(moecCategory)};
  cl::opt<bool> report{
      "report", cl::init(false),
      cl::desc("With --quantize: print per MoE layer the bytes of its weights before and after "
               "and the error of its experts' output on a random probe"),
      cl::cat(moecCategory)};
  cl::opt<Precision> precision{
      "precision", cl::desc("Precision of the expert GEMMs"), cl::init(Precision::model),
      cl::values(clEnumValN(Precision::model, "model", "the model's own"),
                 clEnumValN(Precision::bf16, "bf16",
                            "bf16 with f32 accumulation for f32 models (GPU targets)")),
      cl::cat(moecCategory)};
  cl::opt<GpuBinary> gpuBinary{
      "gpu-binary", cl::desc("How GPU kernels are embedded in the program"),
      cl::init(GpuBinary::automatic),
      cl::values(clEnumValN(GpuBinary::automatic, "auto",
                            "fatbin when the CUDA toolkit has ptxas and fatbinary, else ptx"),
                 clEnumValN(GpuBinary::ptx, "ptx", "PTX, compiled by the driver at load"),
                 clEnumValN(GpuBinary::fatbin, "fatbin",
                            "the chip's cubin, assembled by ptxas now, and the PTX")),
      cl::cat(moecCategory)};
  cl::opt<unsigned> shardExperts{"shard-experts", cl::value_desc("N"), cl::init(1),
                                 cl::desc("Place the experts on N MPI ranks (host; docs/sharding.md)"),
                                 cl::cat(moecCategory)};
  cl::opt<std::string> shardProfile{
      "shard-profile", cl::value_desc("file"),
      cl::desc("With --shard-experts: balance the placement by this routing profile "
               "(moec profile)"),
      cl::cat(moecCategory)};
  cl::opt<unsigned> shardReplicateHot{
      "shard-replicate-hot", cl::value_desc("K"), cl::init(0),
      cl::desc("With --shard-experts: hold the K most loaded experts of every layer on every "
               "rank"),
      cl::cat(moecCategory)};
  cl::opt<std::string> shardPlacement{
      "shard-placement", cl::value_desc("file"),
      cl::desc("With --shard-experts: each expert's rank, per layer, from this JSON file "
               "(docs/sharding.md)"),
      cl::cat(moecCategory)};
  cl::alias placement{"placement", cl::desc("Alias for --shard-placement"),
                      cl::aliasopt(shardPlacement)};
  cl::list<std::string> disabledPasses{"disable-pass", cl::value_desc("name"),
                                       cl::desc("Do not run the named pass (repeatable)"),
                                       cl::cat(moecCategory)};
  cl::opt<Stage> stopAfter{
      "stop-after", cl::desc("Stop after a stage (with --emit=mlir: write its MLIR)"),
      cl::init(Stage::all),
      cl::values(clEnumValN(Stage::import, "import", "the onnx level, as imported"),
                 clEnumValN(Stage::clean, "clean", "the onnx level with moec's inferred types"),
                 clEnumValN(Stage::raise, "raise", "MoE layers raised to moe.layer"),
                 clEnumValN(Stage::optimize, "optimize", "after fusion, quantization, sharding"),
                 clEnumValN(Stage::kernel, "kernel", "the kernel level")),
      cl::cat(moecCategory)};
  cl::opt<bool> unchecked{
      "unchecked", cl::init(false),
      cl::desc("Leave out the run-time checks of input values (indices within their "
               "dimensions, sizes that agree): a bad value is then undefined behavior"),
      cl::cat(moecCategory)};
  cl::opt<bool> inferShapes{"infer-shapes", cl::init(true),
                            cl::desc("Fill in missing types with ONNX shape inference"),
                            cl::cat(moecCategory)};
  cl::opt<uint64_t> elideResourcesOver{
      "elide-resources-over", cl::value_desc("bytes"), cl::init(4096),
      cl::desc("In MLIR output, elide weights larger than this (0: print all)"),
      cl::cat(moecCategory)};
  cl::opt<uint64_t> weightsFileOver{
      "weights-file-over", cl::value_desc("bytes"), cl::init(uint64_t(1) << 30),
      cl::desc("Write the weights to OUT.weights beside OUT when they exceed this "
               "(0: whenever there are any)"),
      cl::cat(moecCategory)};
  cl::opt<bool> listSupportedOps{
      "list-supported-ops", cl::init(false),
      cl::desc("Print the ONNX op types (default domain) that moec compiles, and exit"),
      cl::cat(moecCategory)};
  cl::opt<bool> listPasses{
      "list-passes", cl::init(false),
      cl::desc("Print the pipeline's passes in order (stage, pass, on or off with the other "
               "options, optional when --disable-pass takes it), and exit"),
      cl::cat(moecCategory)};
  cl::opt<bool> remarks{"remarks", cl::init(false),
                        cl::desc("Print remarks, e.g. why an MoE-shaped graph was not raised"),
                        cl::cat(moecCategory)};
  cl::opt<bool> allErrors{"all-errors", cl::init(false),
                          cl::desc("Print every error, not only the first"),
                          cl::cat(moecCategory)};
  cl::opt<bool> printLocations{"print-locations", cl::init(false),
                               cl::desc("In MLIR output, print locations (the ONNX node names)"),
                               cl::cat(moecCategory)};
};

std::string targetName(Target target) {
  switch (target) {
  case Target::host:
    return "host";
  case Target::sm_80:
    return "sm_80";
  case Target::sm_89:
    return "sm_89";
  case Target::sm_90:
    return "sm_90";
  case Target::sm_90a:
    return "sm_90a";
  case Target::cuda:
    return "cuda";
  }
  llvm_unreachable("unknown target");
}

moec::Stage pipelineStage(Stage stage) {
  switch (stage) {
  case Stage::import:
    return moec::Stage::Import;
  case Stage::clean:
    return moec::Stage::Clean;
  case Stage::raise:
    return moec::Stage::Raise;
  case Stage::optimize:
    return moec::Stage::Optimize;
  case Stage::kernel:
    return moec::Stage::Kernel;
  case Stage::all:
    return moec::Stage::Codegen;
  }
  llvm_unreachable("unknown stage");
}

moec::OutputKind outputKind(Emit emit) {
  switch (emit) {
  case Emit::exe:
    return moec::OutputKind::Executable;
  case Emit::lib:
    return moec::OutputKind::SharedLibrary;
  case Emit::obj:
    return moec::OutputKind::Object;
  case Emit::ptx:
    return moec::OutputKind::PTX;
  case Emit::mlir:
    return moec::OutputKind::MLIR;
  }
  llvm_unreachable("unknown output");
}

moec::Quantization quantization(Quantize quantize) {
  switch (quantize) {
  case Quantize::none:
    return moec::Quantization::None;
  case Quantize::int8:
    return moec::Quantization::Int8;
  case Quantize::int4:
    return moec::Quantization::Int4;
  case Quantize::fp8:
    return moec::Quantization::FP8;
  }
  llvm_unreachable("unknown quantization");
}

moec::KernelBinary kernelBinary(GpuBinary binary) {
  switch (binary) {
  case GpuBinary::automatic:
    return moec::KernelBinary::Automatic;
  case GpuBinary::ptx:
    return moec::KernelBinary::PTX;
  case GpuBinary::fatbin:
    return moec::KernelBinary::Fatbin;
  }
  llvm_unreachable("unknown kernel binary");
}

/// `moec --list-passes`: one line per pass of the stages after import, in order.
int listPipeline(const moec::PipelineOptions &options) {
  if (std::optional<std::string> unknown = moec::findUnknownPassName(options.disabledPasses)) {
    errs() << "error: --disable-pass=" << *unknown
           << ": no optional pass has that name (see --list-passes)\n";
    return exitBadCommandLine;
  }
  for (const moec::PipelinePass &pass : moec::describePipeline(options))
    outs() << format("%-9s %-3s %-9s ", moec::getStageName(pass.stage).data(),
                     pass.enabled ? "on" : "off", pass.optional ? "optional" : "")
           << pass.name << "\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "moec " MOEC_VERSION " (LLVM " LLVM_VERSION_STRING ")\n";
  });
  cl::getRegisteredOptions()["stop-after"]->removeArgument();
  if (argc > 1 && StringRef(argv[1]) == "plan")
    return runPlanCommand(argc, argv);
  if (argc > 1 && StringRef(argv[1]) == "profile")
    return runProfileCommand(argc, argv);
  // mlir-opt's --mlir-print-ir-before/after=PASS, --mlir-print-ir-after-all, --mlir-timing
  // and the printing flags they take, on the passes of every stage; the pass names those
  // flags accept are the registered passes'.
  mlir::registerAllPasses();
  moec::registerMoECPasses();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  Options options;
  cl::HideUnrelatedOptions(moecCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "moec: ahead-of-time compiler for Mixture-of-Experts models\n\n"
                              "  Also mlir-opt's --mlir-print-ir-before=PASS, "
                              "--mlir-print-ir-after=PASS,\n  --mlir-print-ir-after-all and "
                              "--mlir-timing on the passes --list-passes shows.\n"
                              "  moec plan --help: the cost of sharding the experts\n"
                              "  moec profile --help: tokens per expert on sample inputs\n");

  // The IR that --mlir-print-ir-* prints elides weights as --emit=mlir does, unless MLIR's
  // own flag for that is given.
  cl::Option *elideResources = cl::getRegisteredOptions()["mlir-elide-resource-strings-if-larger"];
  if (elideResources->getNumOccurrences() == 0 && options.elideResourcesOver != 0)
    elideResources->addOccurrence(0, elideResources->ArgStr,
                                  std::to_string(options.elideResourcesOver));

  if (options.listSupportedOps) {
    mlir::DialectRegistry registry;
    moec::registerMoECDialects(registry);
    mlir::MLIRContext context(registry);
    std::vector<std::string> opTypes = moec::getLegalizableONNXOpTypes(&context);
    llvm::append_range(opTypes, moec::getExpandedFunctionOpTypes());
    llvm::sort(opTypes);
    for (const std::string &opType : opTypes)
      outs() << opType << "\n";
    return 0;
  }
  moec::CompileOptions compileOptions;
  compileOptions.pipeline.stopAfter = pipelineStage(options.stopAfter);
  compileOptions.pipeline.disabledPasses = options.disabledPasses;
  compileOptions.pipeline.bf16ExpertMatmuls = options.precision == Precision::bf16;
  compileOptions.pipeline.runtimeChecks = !options.unchecked;
  compileOptions.pipeline.passManagerCommandLine = true;
  compileOptions.pipeline.target = targetName(options.target);
  compileOptions.output = outputKind(options.emit);
  compileOptions.kernelBinary = kernelBinary(options.gpuBinary);
  compileOptions.weightsFileOver = options.weightsFileOver;
  compileOptions.import.inferShapes = options.inferShapes;
  compileOptions.printIR.elideResourcesOver = options.elideResourcesOver;
  compileOptions.printIR.printLocations = options.printLocations;
  compileOptions.pipeline.quantize = quantization(options.quantize);
  compileOptions.pipeline.quantizeGroupSize = options.quantizeGroup;
  compileOptions.pipeline.quantizeAsymmetric = options.quantizeScheme == QuantizeScheme::asymmetric;
  compileOptions.pipeline.quantizeReport = options.report;
  compileOptions.pipeline.quantizeConfigPath = options.quantizeConfig;
  compileOptions.shardExperts = options.shardExperts;
  compileOptions.pipeline.shardProfile = options.shardProfile;
  compileOptions.pipeline.shardReplicateHot = options.shardReplicateHot;
  compileOptions.pipeline.shardPlacement = options.shardPlacement;

  if (options.listPasses)
    return listPipeline(compileOptions.pipeline);
  if (options.inputPath.empty() || options.outputPath.empty()) {
    errs() << "error: give a model and an output: moec MODEL.onnx -o OUT (see --help)\n";
    return exitBadCommandLine;
  }


  // Diagnostics one line each, as they come; names come from the model, so str() escapes
  // them. Of the errors only the first is printed, at the end with how many followed it:
  // one bad node often makes the rest of the model fail too, and the first is the cause.
  std::optional<std::string> firstError;
  unsigned moreErrors = 0;
  auto print = [&](const moec::CompileDiagnostic &diagnostic) {
    if (diagnostic.severity == mlir::DiagnosticSeverity::Error && !options.allErrors) {
      if (firstError)
        ++moreErrors;
      else
        firstError = diagnostic.str();
      return;
    }
    if (diagnostic.severity != mlir::DiagnosticSeverity::Remark || options.remarks)
      errs() << diagnostic.str() << "\n";
  };
  moec::CompileStatus status = moec::compile(moec::ModelSource::file(options.inputPath),
                                             options.outputPath, compileOptions, print)
                                   .status;
  if (firstError) {
    errs() << *firstError;
    if (moreErrors)
      errs() << " (and " << moreErrors << " more; --all-errors prints them)";
    errs() << "\n";
  }
  return static_cast<int>(status);
}
