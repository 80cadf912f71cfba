//===- moec.cpp - The moec compiler driver --------------------------------===//
//
// `moec MODEL.onnx -o OUT`: imports an ONNX model (or parses MODEL.mlir) and runs it through moec's pipeline
// (import, raise, optimize, kernel, codegen, emit) up to the stage and output asked for.
// What this build cannot do yet (quantization, sharding) is an error, never a fake result.
//
// Exit codes: 0 success, 1 a bad command line, a stage this build lacks or a failed link,
// 2 bad input (the model, or an output path that cannot be written).
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/CudaTarget.h"
#include "moec/Codegen/Emission.h"
#include "moec/Compiler/Pipeline.h"
#include "moec/Importer/ONNXImporter.h"
#include "moec/InitMoEC.h"
#include "moec/Passes.h"
#include "moec/Support/PrintIR.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace {

enum class Stage { import, raise, optimize, kernel, all };
enum class Emit { exe, lib, obj, ptx, mlir };
enum class Target { host, sm_80, sm_89, sm_90, sm_90a, cuda };
enum class Quantize { none, int8, int4, fp8 };
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
                                 cl::desc("Place the experts on N devices"),
                                 cl::cat(moecCategory)};
  cl::list<std::string> disabledPasses{"disable-pass", cl::value_desc("name"),
                                       cl::desc("Do not run the named pass (repeatable)"),
                                       cl::cat(moecCategory)};
  cl::opt<Stage> stopAfter{
      "stop-after", cl::desc("Stop after a stage (with --emit=mlir: write its MLIR)"),
      cl::init(Stage::all),
      cl::values(clEnumValN(Stage::import, "import", "the onnx level, as imported"),
                 clEnumValN(Stage::raise, "raise", "MoE layers raised to moe.layer"),
                 clEnumValN(Stage::optimize, "optimize", "after fusion, quantization, sharding"),
                 clEnumValN(Stage::kernel, "kernel", "the kernel level")),
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
  cl::opt<bool> remarks{"remarks", cl::init(false),
                        cl::desc("Print remarks, e.g. why an MoE-shaped graph was not raised"),
                        cl::cat(moecCategory)};
  cl::opt<bool> printLocations{"print-locations", cl::init(false),
                               cl::desc("In MLIR output, print locations (the ONNX node names)"),
                               cl::cat(moecCategory)};
};

constexpr int exitUnavailable = 1;
constexpr int exitBadInput = 2;

/// The file a location points into: the innermost FileLineColLoc.
std::string describeLocation(mlir::Location loc) {
  std::string result;
  loc->walk([&](mlir::Location nested) {
    if (auto file = dyn_cast<mlir::FileLineColLoc>(nested)) {
      result = file.getFilename().str();
      if (file.getLine() != 0)
        result += ":" + std::to_string(file.getLine()) + ":" + std::to_string(file.getColumn());
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  return result;
}

/// Prints each diagnostic as one line, `error: FILE: MESSAGE`; the message names the node.
/// Names come from the model, so anything unprintable in them (a newline, a NUL) is
/// escaped. Remarks are printed only with `showRemarks`.
mlir::LogicalResult printDiagnostic(mlir::Diagnostic &diag, bool showRemarks) {
  StringRef severity = "error";
  if (diag.getSeverity() == mlir::DiagnosticSeverity::Warning)
    severity = "warning";
  else if (diag.getSeverity() == mlir::DiagnosticSeverity::Remark)
    severity = "remark";
  else if (diag.getSeverity() != mlir::DiagnosticSeverity::Error)
    severity = "note";
  if (severity == "remark" && !showRemarks)
    return mlir::success();
  errs() << severity << ": ";
  std::string where = describeLocation(diag.getLocation());
  if (!where.empty()) {
    printEscapedString(where, errs());
    errs() << ": ";
  }
  printEscapedString(diag.str(), errs());
  errs() << "\n";
  return mlir::success();
}

/// The first thing asked for that this build cannot do yet, or an empty string.
std::string unavailableRequest(const Options &options) {
  if (options.emit == Emit::ptx && options.target == Target::host)
    return "--emit=ptx needs a GPU target (--target=sm_80, sm_89, sm_90, sm_90a or cuda)";
  if (options.emit != Emit::mlir && options.stopAfter != Stage::all)
    return "--stop-after writes the MLIR of a stage: use it with --emit=mlir";
  // The host kernels take f32 only: bf16 products can be shown, not compiled, there.
  if (options.precision == Precision::bf16 && options.target == Target::host &&
      options.stopAfter == Stage::all)
    return "--precision=bf16 runs the expert GEMMs on GPU tensor cores: use it with a GPU "
           "target, or with --stop-after to see the MLIR";
  if (options.quantize != Quantize::none)
    return "--quantize is not available in this build yet";
  if (options.shardExperts != 1)
    return "--shard-experts is not available in this build yet";
  std::vector<std::string> optional = moec::getOptionalPassNames();
  for (const std::string &name : options.disabledPasses)
    if (!llvm::is_contained(optional, name))
      return "--disable-pass=" + name + ": no optional pass has that name (see docs/moec.md)";
  return "";
}

/// The name of the chip to compile for ("host", "sm_90a", ...), resolving `cuda` to the GPU
/// nvidia-smi sees (with a note on stderr when it falls back), or an empty string after an
/// error line.
std::string resolveTarget(Target target) {
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
  case Target::cuda: {
    moec::DetectedChip detected = moec::detectCudaChip();
    if (!detected.error.empty()) {
      errs() << "error: " << detected.error << "\n";
      return "";
    }
    if (!detected.note.empty())
      errs() << "note: " << detected.note << "\n";
    return detected.chip;
  }
  }
  llvm_unreachable("unknown target");
}

moec::Stage pipelineStage(Stage stage) {
  switch (stage) {
  case Stage::import:
    return moec::Stage::Import;
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

/// A file that moec writes: the output, or the weights file beside it. A regular (or new)
/// file is written to a temporary file in its directory and renamed onto it once complete,
/// so that a failure leaves no partial file and an existing one untouched; stdout (`-`) and
/// special files such as /dev/null are written in place. Opened before anything is
/// compiled, so that an unwritable path fails at once rather than after the compile.
class OutputFile {
public:
  OutputFile() = default;
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;
  ~OutputFile() {
    if (temp)
      consumeError(temp->discard());
  }

  /// Creates the temporary file, or opens stdout or the special file. On failure prints
  /// `error: PATH: cannot write the output: REASON` and returns false.
  bool open(StringRef outputPath) {
    path = outputPath.str();
    if (path == "-")
      return true;
    sys::fs::file_status status;
    if (!sys::fs::status(path, status) && status.type() != sys::fs::file_type::regular_file &&
        status.type() != sys::fs::file_type::file_not_found) {
      std::error_code error;
      inPlace.emplace(path, error);
      return error ? fail(error.message()) : true;
    }
    Expected<sys::fs::TempFile> created = sys::fs::TempFile::create(path + ".tmp%%%%%%");
    if (!created)
      return fail(toString(created.takeError()));
    temp.emplace(std::move(*created));
    return true;
  }

  bool isStdout() const { return path == "-"; }

  /// Where a program that writes the file itself (the linker) is to write it.
  StringRef getWritePath() const { return temp ? StringRef(temp->TmpName) : StringRef(path); }

  /// Writes the whole contents through `write`; false (after one line) on a write error.
  bool write(function_ref<void(raw_fd_ostream &)> write) {
    if (isStdout()) {
      write(outs());
      outs().flush();
      return true;
    }
    std::optional<raw_fd_ostream> tempStream;
    if (temp)
      tempStream.emplace(temp->FD, /*shouldClose=*/false);
    raw_fd_ostream &os = temp ? *tempStream : *inPlace;
    write(os);
    os.flush();
    if (!os.has_error())
      return true;
    std::error_code error = os.error();
    os.clear_error();
    return fail(error.message());
  }

  /// Renames the temporary file onto the path; false (after one line) if that fails.
  bool keep() {
    if (!temp)
      return true;
    Error error = temp->keep(path);
    temp.reset();
    return error ? fail(toString(std::move(error))) : true;
  }

private:
  bool fail(StringRef reason) {
    errs() << "error: " << path << ": cannot write the output: " << reason << "\n";
    return false;
  }

  std::string path;
  std::optional<sys::fs::TempFile> temp;
  std::optional<raw_fd_ostream> inPlace;
};

/// Links `object` with the runtime into `output`. The object goes through a temporary file
/// that is removed whatever happens.
bool linkOutput(ArrayRef<char> object, const OutputFile &output,
                moec::LinkedArtifact artifact) {
  SmallString<128> objectPath;
  int objectFD;
  if (std::error_code error =
          sys::fs::createTemporaryFile("moec-model", "o", objectFD, objectPath)) {
    errs() << "error: cannot create a temporary file: " << error.message() << "\n";
    return false;
  }
  {
    raw_fd_ostream os(objectFD, /*shouldClose=*/true);
    os.write(object.data(), object.size());
  }
  std::string error;
  bool linked = moec::linkWithRuntime(objectPath, output.getWritePath(), artifact, error);
  sys::fs::remove(objectPath);
  if (!linked)
    errs() << "error: " << error << "\n";
  return linked;
}

/// Imports the ONNX model, or parses a `.mlir` file: a module whose `@main` takes and
/// returns tensors, at any level the pipeline starts from (onnx, moe, upstream dialects).
mlir::OwningOpRef<mlir::ModuleOp> loadModel(const Options &options, mlir::MLIRContext &context) {
  if (StringRef(options.inputPath).ends_with(".mlir"))
    return mlir::parseSourceFile<mlir::ModuleOp>(options.inputPath.getValue(), &context);
  moec::ImportOptions importOptions;
  importOptions.inferShapes = options.inferShapes;
  return moec::importONNXFile(options.inputPath, context, importOptions);
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "moec " MOEC_VERSION " (LLVM " LLVM_VERSION_STRING ")\n";
  });
  cl::getRegisteredOptions()["stop-after"]->removeArgument();
  Options options;
  cl::HideUnrelatedOptions(moecCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "moec: ahead-of-time compiler for Mixture-of-Experts models\n");

  if (options.listSupportedOps) {
    mlir::DialectRegistry registry;
    moec::registerMoECDialects(registry);
    mlir::MLIRContext context(registry);
    for (const std::string &opType : moec::getLegalizableONNXOpTypes(&context))
      outs() << opType << "\n";
    return 0;
  }
  if (options.inputPath.empty() || options.outputPath.empty()) {
    errs() << "error: give a model and an output: moec MODEL.onnx -o OUT (see --help)\n";
    return exitUnavailable;
  }

  std::string unavailable = unavailableRequest(options);
  if (!unavailable.empty()) {
    errs() << "error: " << unavailable << "\n";
    return exitUnavailable;
  }
  moec::PipelineOptions pipelineOptions;
  pipelineOptions.stopAfter = pipelineStage(options.stopAfter);
  pipelineOptions.disabledPasses = options.disabledPasses;
  pipelineOptions.bf16ExpertMatmuls = options.precision == Precision::bf16;
  pipelineOptions.target = resolveTarget(options.target);
  if (pipelineOptions.target.empty())
    return exitUnavailable;
  if (pipelineOptions.target != "host" && pipelineOptions.stopAfter == moec::Stage::Codegen) {
    std::string searched;
    std::optional<std::string> libdevice = moec::findLibdevice(searched);
    if (!libdevice) {
      errs() << "error: GPU kernels link the CUDA toolkit's libdevice, which is not installed "
                "(looked for "
             << searched << "); set CUDA_HOME to the toolkit\n";
      return exitUnavailable;
    }
    pipelineOptions.libdevicePath = *libdevice;
    // --emit=ptx writes the PTX, which a fatbin would hide.
    if (options.gpuBinary != GpuBinary::ptx && options.emit != Emit::ptx) {
      std::optional<std::string> assembler = moec::findKernelAssemblerToolkit();
      if (!assembler && options.gpuBinary == GpuBinary::fatbin) {
        errs() << "error: --gpu-binary=fatbin needs the CUDA toolkit's ptxas and fatbinary, "
                  "which were not found (looked under $CUDA_HOME, $CUDA_PATH, the toolkit of the "
                  "nvcc on PATH and /usr/local/cuda); set CUDA_HOME "
                  "to the toolkit\n";
        return exitUnavailable;
      }
      pipelineOptions.assemblerToolkitPath = assembler.value_or("");
    }
  }

  bool linked = options.emit == Emit::exe || options.emit == Emit::lib;
  if (linked && options.outputPath == "-") {
    errs() << "error: an executable or library cannot be written to stdout; name a file\n";
    return exitUnavailable;
  }
  OutputFile output;
  if (!output.open(options.outputPath))
    return exitBadInput;

  mlir::DialectRegistry registry;
  moec::registerMoECDialects(registry);
  moec::registerImportedDialects(registry);
  // The lowering passes find their dialects' bufferization and LLVM-conversion interfaces
  // through the registry.
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // Serializing kernels translates them to LLVM IR; the host's gpu.binary too.
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerGPUDialectTranslation(registry);
  mlir::gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  mlir::registerLLVMDialectTranslation(registry);
  mlir::registerNVVMDialectTranslation(registry);
  mlir::MLIRContext context(registry);
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    return printDiagnostic(diag, options.remarks);
  });

  mlir::OwningOpRef<mlir::ModuleOp> module = loadModel(options, context);
  if (!module)
    return exitBadInput;

  if (failed(moec::runPipeline(*module, pipelineOptions)))
    return exitBadInput;

  if (options.emit == Emit::mlir) {
    moec::PrintIROptions printOptions;
    printOptions.elideResourcesOver = options.elideResourcesOver;
    printOptions.printLocations = options.printLocations;
    return output.write([&](raw_ostream &os) { moec::printIR(*module, os, printOptions); }) &&
                   output.keep()
               ? 0
               : exitBadInput;
  }

  if (options.emit == Emit::ptx) {
    FailureOr<std::string> ptx = moec::getKernelsPTX(*module);
    if (failed(ptx))
      return exitBadInput;
    return output.write([&](raw_ostream &os) { os << *ptx; }) && output.keep() ? 0
                                                                               : exitBadInput;
  }

  // Weights over the limit go to OUT.weights, named in the program by its file name alone:
  // the runtime looks for it in the program's directory.
  OutputFile weights, manifest;
  if (moec::getWeightsFileSize(*module) > options.weightsFileOver) {
    if (output.isStdout()) {
      errs() << "error: the weights go to a file beside the output, which cannot be stdout; "
                "name a file\n";
      return exitUnavailable;
    }
    std::string weightsPath = options.outputPath + ".weights";
    StringRef weightsName = sys::path::filename(weightsPath);
    SmallVector<moec::WeightsFileEntry> entries;
    uint64_t weightsSize = moec::getWeightsFileSize(*module);
    if (!weights.open(weightsPath) || !weights.write([&](raw_fd_ostream &os) {
          entries = moec::moveWeightsToFile(*module, weightsName, os);
        }))
      return exitBadInput;
    // Where each tensor lies, for tools that write weights into the file after compiling
    // (benchmarks/gpu; docs/moec.md).
    if (!manifest.open(weightsPath + ".json") || !manifest.write([&](raw_ostream &os) {
          moec::writeWeightsManifest(weightsName, weightsSize, entries, os);
        }))
      return exitBadInput;
  }

  SmallVector<char, 0> object;
  raw_svector_ostream objectStream(object);
  if (failed(moec::emitHostObject(*module, objectStream, moec::HostObjectOptions())))
    return 1;
  if (options.emit == Emit::obj) {
    if (!output.write([&](raw_ostream &os) { os.write(object.data(), object.size()); }))
      return exitBadInput;
  } else if (!linkOutput(object, output,
                         options.emit == Emit::lib ? moec::LinkedArtifact::SharedLibrary
                                                   : moec::LinkedArtifact::Executable)) {
    return 1;
  }
  return weights.keep() && manifest.keep() && output.keep() ? 0 : exitBadInput;
}
