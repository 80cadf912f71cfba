//===- Compile.cpp - The whole compile, from a model file to an output ----===//

#include "moec/Compiler/Compile.h"

#include "moec/Codegen/Emit/Emission.h"
#include "moec/Codegen/GPU/CudaTarget.h"
#include "moec/InitMoEC.h"
#include "moec/Support/TemporaryFile.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

using namespace llvm;
using mlir::MLIRContext;

void moec::registerCompilerDialects(mlir::DialectRegistry &registry) {
  registerMoECDialects(registry);
  registerImportedDialects(registry);
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
}

namespace {

/// An error about no op: about the options, the machine, or a file (`path`, when given).
mlir::InFlightDiagnostic emitError(MLIRContext &context, StringRef path = "") {
  if (path.empty())
    return mlir::emitError(mlir::UnknownLoc::get(&context));
  return mlir::emitError(mlir::FileLineColLoc::get(&context, path, 0, 0));
}

/// A file that the compile writes: the output, or the weights file beside it. A regular (or
/// new) file is written to a temporary file in its directory and renamed onto it once
/// complete, so that a failure leaves no partial file and an existing one untouched; stdout
/// (`-`) and special files such as /dev/null are written in place. Opened before anything is
/// compiled, so that an unwritable path fails at once rather than after the compile.
class OutputFile {
public:
  explicit OutputFile(MLIRContext &context) : context(context) {}
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;
  ~OutputFile() {
    if (temp)
      consumeError(temp->discard());
  }

  /// Creates the temporary file, or opens stdout or the special file. On failure emits
  /// `PATH: cannot write the output: REASON` and returns false.
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

  /// Writes the whole contents through `write`; false (after an error) on a write error.
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

  /// Renames the temporary file onto the path; false (after an error) if that fails.
  bool keep() {
    if (!temp)
      return true;
    Error error = temp->keep(path);
    temp.reset();
    return error ? fail(toString(std::move(error))) : true;
  }

private:
  bool fail(StringRef reason) {
    emitError(context, path) << "cannot write the output: " << reason;
    return false;
  }

  MLIRContext &context;
  std::string path;
  std::optional<sys::fs::TempFile> temp;
  std::optional<raw_fd_ostream> inPlace;
};

/// An exclusive lock on the directory of a path while alive, so that compiles writing to
/// one output rename their files (OUT, OUT.weights, its manifest; a sharded program's
/// OUT.rank<R>.weights and theirs) one compile after the other: OUT and its weights files
/// always come from one compile. Advisory, between moec
/// processes; a directory that cannot be locked (a file system without flock) is not.
class DirectoryLock {
public:
  explicit DirectoryLock(StringRef path) {
    SmallString<128> directory(path);
    sys::path::remove_filename(directory);
    if (directory.empty())
      directory = ".";
    fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && ::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  DirectoryLock(const DirectoryLock &) = delete;
  DirectoryLock &operator=(const DirectoryLock &) = delete;
  ~DirectoryLock() {
    if (fd >= 0)
      ::close(fd); // Releases the lock.
  }

private:
  int fd = -1;
};

/// The first thing in `options` that cannot be done, or an empty string.
std::string unavailableRequest(const moec::CompileOptions &options) {
  const moec::PipelineOptions &pipeline = options.pipeline;
  if (!pipeline.quantizeConfigPath.empty() && pipeline.quantize == moec::Quantization::None)
    return "--quantize-config overrides --quantize per layer: use it with --quantize=int8, "
           "int4 or fp8";
  // The loop kernels (the GPU's logic) take f32 or fp8 weights, not integers.
  if ((pipeline.quantize == moec::Quantization::Int8 ||
       pipeline.quantize == moec::Quantization::Int4) &&
      llvm::is_contained(pipeline.disabledPasses, "moec-lower-moe-kernels-to-runtime") &&
      !llvm::is_contained(pipeline.disabledPasses, "moec-quantize-expert-weights") &&
      pipeline.stopAfter == moec::Stage::Codegen)
    return "--quantize=int8 and int4 run on the runtime's MoE kernels: do not disable "
           "moec-lower-moe-kernels-to-runtime with them";
  if (pipeline.quantizeReport && pipeline.quantize == moec::Quantization::None)
    return "--report describes what --quantize does: use it with --quantize=int8, int4 or fp8";
  if (pipeline.quantizeAsymmetric && pipeline.quantize != moec::Quantization::Int8 &&
      pipeline.quantize != moec::Quantization::Int4)
    return "--quantize-scheme says how --quantize quantizes: use it with --quantize=int8 or "
           "int4";
  if (pipeline.quantizeGroupSize <= 0)
    return "--quantize-group must be a positive number of rows";
  // The GPU kernels take f32 weights; the quantized MLIR can be shown, not compiled, there.
  if (pipeline.quantize != moec::Quantization::None && pipeline.target != "host" &&
      pipeline.stopAfter == moec::Stage::Codegen)
    return "--quantize runs on the host target only in this build (the GPU kernels take f32 "
           "weights): use it with --target=host, or with --stop-after to see the MLIR";
  if (options.shardExperts == 0)
    return "--shard-experts=0: expected at least one rank";
  if (options.shardExperts > 1 && pipeline.target != "host")
    return "--shard-experts runs the ranks as MPI processes on the host: GPU targets (NCCL) "
           "are not available in this build yet";
  if (options.shardExperts > 1 && options.output != moec::OutputKind::Executable &&
      options.output != moec::OutputKind::MLIR)
    return "--shard-experts writes an executable, with a weights file per rank, or MLIR";
  if ((!pipeline.shardProfile.empty() || pipeline.shardReplicateHot > 0 ||
       !pipeline.shardPlacement.empty()) &&
      options.shardExperts < 2)
    return "--shard-profile, --shard-replicate-hot and --shard-placement place the experts of "
           "--shard-experts=N: give N >= 2";
  if (!pipeline.shardPlacement.empty() &&
      (!pipeline.shardProfile.empty() || pipeline.shardReplicateHot > 0))
    return "--shard-placement places every expert itself: give it without --shard-profile and "
           "--shard-replicate-hot";
  if (options.output == moec::OutputKind::PTX && pipeline.target == "host")
    return "--emit=ptx needs a GPU target (--target=sm_80, sm_89, sm_90, sm_90a or cuda)";
  if (options.output != moec::OutputKind::MLIR && pipeline.stopAfter != moec::Stage::Codegen)
    return "--stop-after writes the MLIR of a stage: use it with --emit=mlir";
  // The host kernels take f32 only: bf16 products can be shown, not compiled, there.
  if (pipeline.bf16ExpertMatmuls && pipeline.target == "host" &&
      pipeline.stopAfter == moec::Stage::Codegen)
    return "--precision=bf16 runs the expert GEMMs on GPU tensor cores: use it with a GPU "
           "target, or with --stop-after to see the MLIR";
  if (std::optional<std::string> unknown = moec::findUnknownPassName(pipeline.disabledPasses))
    return "--disable-pass=" + *unknown + ": no optional pass has that name (see docs/moec.md)";
  return "";
}

/// Resolves the target "cuda" to the chip of the GPU nvidia-smi sees (with a note when it
/// falls back) and finds the CUDA toolkit pieces that a GPU target's code generation needs.
/// False after an error.
bool prepareTarget(moec::CompileOptions &options, MLIRContext &context) {
  moec::PipelineOptions &pipeline = options.pipeline;
  if (pipeline.target == "cuda") {
    moec::DetectedChip detected = moec::detectCudaChip();
    if (!detected.error.empty()) {
      emitError(context) << detected.error;
      return false;
    }
    if (!detected.note.empty())
      context.getDiagEngine().emit(mlir::UnknownLoc::get(&context),
                                   mlir::DiagnosticSeverity::Note)
          << detected.note;
    pipeline.target = detected.chip;
  }
  if (pipeline.target == "host" || pipeline.stopAfter != moec::Stage::Codegen)
    return true;
  std::string searched;
  std::optional<std::string> libdevice = moec::findLibdevice(searched);
  if (!libdevice) {
    emitError(context) << "GPU kernels link the CUDA toolkit's libdevice, which is not "
                          "installed (looked for "
                       << searched << "); set CUDA_HOME to the toolkit";
    return false;
  }
  pipeline.libdevicePath = *libdevice;
  // --emit=ptx writes the PTX, which a fatbin would hide.
  if (options.kernelBinary == moec::KernelBinary::PTX || options.output == moec::OutputKind::PTX)
    return true;
  std::optional<std::string> assembler = moec::findKernelAssemblerToolkit();
  if (!assembler && options.kernelBinary == moec::KernelBinary::Fatbin) {
    emitError(context) << "--gpu-binary=fatbin needs the CUDA toolkit's ptxas and fatbinary, "
                          "which were not found (looked under $CUDA_HOME, $CUDA_PATH, the "
                          "toolkit of the nvcc on PATH and /usr/local/cuda); set CUDA_HOME "
                          "to the toolkit";
    return false;
  }
  pipeline.assemblerToolkitPath = assembler.value_or("");
  return true;
}

/// Imports the ONNX model, or parses a `.mlir` file: a module whose `@main` takes and
/// returns tensors, at any level the pipeline starts from (onnx, moe, upstream dialects).
mlir::OwningOpRef<mlir::ModuleOp> loadModel(const moec::ModelSource &source,
                                            const moec::CompileOptions &options,
                                            MLIRContext &context) {
  StringRef path = source.getPath();
  if (source.getKind() == moec::ModelSource::Kind::ONNXBytes)
    return moec::importONNXBuffer(source.getBytes(), path, source.getExternalDataDir(), context,
                                  options.import);
  if (path.ends_with(".mlir"))
    return mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
  return moec::importONNXFile(path, context, options.import);
}

/// Links `object` with the runtime into `output`. The object goes through a temporary file
/// that is removed whatever happens.
bool linkOutput(ArrayRef<char> object, const OutputFile &output, moec::LinkedArtifact artifact,
                StringRef runtimeLibraryDir, MLIRContext &context, bool expertParallel) {
  SmallString<128> objectPath;
  int objectFD;
  // Removed on SIGINT, SIGTERM and SIGHUP too: it is the size of the weights.
  if (std::error_code error =
          moec::createTemporaryFileRemovedOnSignal("moec-model", "o", objectFD, objectPath)) {
    emitError(context) << "cannot create a temporary file: " << error.message();
    return false;
  }
  {
    raw_fd_ostream os(objectFD, /*shouldClose=*/true);
    os.write(object.data(), object.size());
  }
  std::string error;
  bool linked =
      moec::linkWithRuntime(objectPath, output.getWritePath(), artifact, runtimeLibraryDir, error,
                            expertParallel);
  sys::fs::remove(objectPath);
  sys::DontRemoveFileOnSignal(objectPath);
  if (!linked)
    emitError(context) << error;
  return linked;
}

/// Moves the weights of `module` (through Codegen) into the file at `path`, which the
/// program names `nameInProgram`, and writes where each tensor lies to PATH.json, for tools
/// that write weights into the file after compiling (benchmarks/gpu; docs/moec.md). False
/// after an error.
bool writeWeightsFile(mlir::ModuleOp module, StringRef path, StringRef nameInProgram,
                      OutputFile &weights, OutputFile &manifest) {
  uint64_t size = moec::getWeightsFileSize(module);
  SmallVector<moec::WeightsFileEntry> entries;
  return weights.open(path) &&
         weights.write([&](raw_fd_ostream &os) {
           entries = moec::moveWeightsToFile(module, nameInProgram, os);
         }) &&
         manifest.open((path + ".json").str()) && manifest.write([&](raw_ostream &os) {
           moec::writeWeightsManifest(sys::path::filename(path), size, entries, os);
         });
}

/// The object file of `module` (through Codegen), written as the output or linked into it;
/// with `expertParallel`, linked with the runtime's MPI part. Keeps nothing.
moec::CompileStatus emitObject(mlir::ModuleOp module, OutputFile &output,
                               const moec::CompileOptions &options, MLIRContext &context,
                               bool expertParallel = false) {
  using moec::CompileStatus;
  SmallVector<char, 0> object;
  raw_svector_ostream objectStream(object);
  if (failed(moec::emitHostObject(module, objectStream, moec::HostObjectOptions())))
    return CompileStatus::Unavailable;
  if (options.output == moec::OutputKind::Object)
    return output.write([&](raw_ostream &os) { os.write(object.data(), object.size()); })
               ? CompileStatus::Success
               : CompileStatus::BadInput;
  return linkOutput(object, output,
                    options.output == moec::OutputKind::SharedLibrary
                        ? moec::LinkedArtifact::SharedLibrary
                        : moec::LinkedArtifact::Executable,
                    options.runtimeLibraryDir.empty() ? moec::getDefaultRuntimeLibraryDir()
                                                      : options.runtimeLibraryDir,
                    context, expertParallel)
             ? CompileStatus::Success
             : CompileStatus::Unavailable;
}

/// The Emit stage for a module through Codegen: the object file, linked unless an object is
/// asked for, with the weights moved to a file beside the output when they are large.
moec::CompileStatus emitNative(mlir::ModuleOp module, OutputFile &output, StringRef outputPath,
                               const moec::CompileOptions &options, MLIRContext &context) {
  using moec::CompileStatus;
  // Weights over the limit go to OUT.weights, named in the program by its file name alone:
  // the runtime looks for it in the program's directory.
  OutputFile weights(context), manifest(context);
  uint64_t weightsSize = moec::getWeightsFileSize(module);
  if (weightsSize > options.weightsFileOver) {
    if (output.isStdout()) {
      emitError(context) << "the weights go to a file beside the output, which cannot be "
                            "stdout; name a file";
      return CompileStatus::Unavailable;
    }
    std::string weightsPath = (outputPath + ".weights").str();
    if (!writeWeightsFile(module, weightsPath, sys::path::filename(weightsPath), weights,
                          manifest))
      return CompileStatus::BadInput;
  }

  if (CompileStatus status = emitObject(module, output, options, context);
      status != CompileStatus::Success)
    return status;
  DirectoryLock pairing(outputPath);
  return weights.keep() && manifest.keep() && output.keep() ? CompileStatus::Success
                                                             : CompileStatus::BadInput;
}

/// The Emit stage of an expert-parallel program (docs/sharding.md), from `module` through
/// Optimize: every rank's program is compiled (they differ only in their experts' bytes),
/// each writes its weights file, OUT.rank<R>.weights, and rank 0's, which knows every file's
/// checksum, is linked with the runtime's MPI part as the program of them all.
moec::CompileStatus emitShardedExecutable(mlir::ModuleOp module, OutputFile &output,
                                          StringRef outputPath,
                                          const moec::CompileOptions &options,
                                          MLIRContext &context) {
  using moec::CompileStatus;
  if (output.isStdout()) {
    emitError(context) << "the weights go to files beside the output, which cannot be stdout; "
                          "name a file";
    return CompileStatus::Unavailable;
  }
  // The name the program holds; rank R inserts ".rank<R>" before ".weights".
  std::string weightsName = (sys::path::filename(outputPath) + ".weights").str();
  mlir::OwningOpRef<mlir::ModuleOp> program;
  SmallVector<std::unique_ptr<OutputFile>> files;
  SmallVector<uint64_t> checksums;
  for (unsigned rank = 0; rank < options.shardExperts; ++rank) {
    mlir::OwningOpRef<mlir::ModuleOp> rankModule = module.clone();
    moec::PipelineOptions pipeline = options.pipeline;
    pipeline.shardRank = rank;
    if (failed(moec::runPipeline(*rankModule, pipeline, moec::Stage::Kernel)))
      return CompileStatus::BadInput;
    std::string path = (outputPath + ".rank" + Twine(rank) + ".weights").str();
    OutputFile &weights = *files.emplace_back(std::make_unique<OutputFile>(context));
    OutputFile &manifest = *files.emplace_back(std::make_unique<OutputFile>(context));
    if (!writeWeightsFile(*rankModule, path, weightsName, weights, manifest))
      return CompileStatus::BadInput;
    checksums.push_back(moec::getWeightsChecksum(*rankModule));
    if (rank == 0)
      program = std::move(rankModule);
  }
  // A program without an exchange (moe.expert_parallel, lowered to the runtime's call) would
  // not link the MPI runtime, and could only fail when run.
  if (!mlir::SymbolTable::lookupSymbolIn(*program, "moec_rt_moe_expert_parallel_f32")) {
    emitError(context) << "--shard-experts: no MoE layer of the model can be sharded (this "
                          "build shards raised layers whose expert weights are constants, f32 "
                          "or quantized to 8-bit or 4-bit integers or fp8)";
    return CompileStatus::Unavailable;
  }
  moec::declareShardedWeights(*program, checksums);
  if (CompileStatus status = emitObject(*program, output, options, context,
                                        /*expertParallel=*/true);
      status != CompileStatus::Success)
    return status;
  DirectoryLock pairing(outputPath);
  for (std::unique_ptr<OutputFile> &file : files)
    if (!file->keep())
      return CompileStatus::BadInput;
  return output.keep() ? CompileStatus::Success : CompileStatus::BadInput;
}

/// The whole compile of the module that `load` gives (null after an error), in `context`;
/// `inputPath` is the model's file, when it comes from one.
moec::CompileStatus compileModel(function_ref<mlir::ModuleOp()> load, StringRef inputPath,
                                 StringRef outputPath, const moec::CompileOptions &requested,
                                 MLIRContext &context) {
  using namespace moec;
  std::string unavailable = unavailableRequest(requested);
  if (!unavailable.empty()) {
    emitError(context) << unavailable;
    return CompileStatus::Unavailable;
  }
  CompileOptions options = requested;
  if (!prepareTarget(options, context))
    return CompileStatus::Unavailable;
  bool linked =
      options.output == OutputKind::Executable || options.output == OutputKind::SharedLibrary;
  if (linked && outputPath == "-") {
    emitError(context) << "an executable or library cannot be written to stdout; name a file";
    return CompileStatus::Unavailable;
  }
  // Written over, the model would be lost (through a link or another spelling, too).
  bool sameFile = false;
  if (!inputPath.empty() && outputPath != "-" &&
      !sys::fs::equivalent(inputPath, outputPath, sameFile) && sameFile) {
    emitError(context, outputPath) << "cannot write the output: it is the input model";
    return CompileStatus::BadInput;
  }
  OutputFile output(context);
  if (!output.open(outputPath))
    return CompileStatus::BadInput;

  options.pipeline.shardRanks = options.shardExperts;
  // An expert-parallel executable is one program per rank from Kernel on.
  bool sharded = options.shardExperts > 1 && options.output == OutputKind::Executable;
  PipelineOptions pipeline = options.pipeline;
  if (sharded)
    pipeline.stopAfter = Stage::Optimize;
  // --mlir-timing, where the tool registered MLIR's timing options: the import, every
  // stage's passes and the output, reported when the compile ends.
  mlir::DefaultTimingManager timingManager;
  if (options.pipeline.passManagerCommandLine)
    mlir::applyDefaultTimingManagerCLOptions(timingManager);
  mlir::TimingScope timing = timingManager.getRootScope();
  mlir::TimingScope importTiming = timing.nest("import");
  mlir::ModuleOp module = load();
  importTiming.stop();
  if (!module || failed(runPipeline(module, pipeline, Stage::Clean, &timing)))
    return CompileStatus::BadInput;
  if (sharded)
    return emitShardedExecutable(module, output, outputPath, options, context);
  mlir::TimingScope outputTiming = timing.nest("output");

  switch (options.output) {
  case OutputKind::MLIR:
    return output.write([&](raw_ostream &os) { printIR(module, os, options.printIR); }) &&
                   output.keep()
               ? CompileStatus::Success
               : CompileStatus::BadInput;
  case OutputKind::PTX: {
    FailureOr<std::string> ptx = getKernelsPTX(module);
    if (failed(ptx))
      return CompileStatus::BadInput;
    return output.write([&](raw_ostream &os) { os << *ptx; }) && output.keep()
               ? CompileStatus::Success
               : CompileStatus::BadInput;
  }
  case OutputKind::Object:
  case OutputKind::Executable:
  case OutputKind::SharedLibrary:
    return emitNative(module, output, outputPath, options, context);
  }
  llvm_unreachable("unknown output kind");
}

/// The file a location points into: the innermost FileLineColLoc, with its line and column
/// when it has them.
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

} // namespace

moec::ModelSource moec::ModelSource::file(StringRef path) {
  ModelSource source;
  source.kind = Kind::File;
  source.path = path.str();
  return source;
}

moec::ModelSource moec::ModelSource::onnxBytes(StringRef bytes, StringRef name,
                                               StringRef externalDataDir) {
  ModelSource source;
  source.kind = Kind::ONNXBytes;
  source.path = name.str();
  source.bytes = bytes;
  source.externalDataDir = externalDataDir.str();
  return source;
}

moec::ModelSource moec::ModelSource::module(mlir::ModuleOp module) {
  ModelSource source;
  source.kind = Kind::Module;
  source.moduleOp = module;
  return source;
}

std::string moec::CompileDiagnostic::str() const {
  std::string line;
  raw_string_ostream os(line);
  switch (severity) {
  case mlir::DiagnosticSeverity::Error:
    os << "error: ";
    break;
  case mlir::DiagnosticSeverity::Warning:
    os << "warning: ";
    break;
  case mlir::DiagnosticSeverity::Note:
    os << "note: ";
    break;
  case mlir::DiagnosticSeverity::Remark:
    os << "remark: ";
    break;
  }
  if (!location.empty()) {
    printEscapedString(location, os);
    os << ": ";
  }
  printEscapedString(message, os);
  return line;
}

std::string moec::CompileResult::getErrors() const {
  std::string errors;
  for (const CompileDiagnostic &diagnostic : diagnostics)
    if (diagnostic.severity == mlir::DiagnosticSeverity::Error)
      errors += diagnostic.str() + "\n";
  return errors;
}

namespace {

/// Runs `body` in the context of a compile of `source`, collecting its diagnostics (and
/// passing each to `onDiagnostic`); `body` gets the context and the function that loads the
/// model into it (null after an error).
moec::CompileResult
runInCompileContext(const moec::ModelSource &source, const moec::CompileOptions &options,
                    function_ref<void(const moec::CompileDiagnostic &)> onDiagnostic,
                    function_ref<moec::CompileStatus(MLIRContext &,
                                                     function_ref<mlir::ModuleOp()> load)>
                        body) {
  using namespace moec;
  mlir::DialectRegistry registry;
  registerCompilerDialects(registry);
  std::optional<MLIRContext> ownContext;
  MLIRContext *context;
  if (source.getKind() == ModelSource::Kind::Module) {
    context = source.getModule()->getContext();
    context->appendDialectRegistry(registry);
  } else {
    context = &ownContext.emplace(registry);
  }

  CompileResult result;
  mlir::ScopedDiagnosticHandler handler(context, [&](mlir::Diagnostic &diag) {
    result.diagnostics.push_back({diag.getSeverity(), describeLocation(diag.getLocation()),
                                  diag.str()});
    if (onDiagnostic)
      onDiagnostic(result.diagnostics.back());
    return success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> loaded;
  result.status = body(*context, [&] {
    if (source.getKind() == ModelSource::Kind::Module)
      return source.getModule();
    loaded = loadModel(source, options, *context);
    return loaded.get();
  });
  return result;
}

} // namespace

moec::CompileResult
moec::compile(const ModelSource &source, StringRef outputPath, const CompileOptions &options,
              function_ref<void(const CompileDiagnostic &)> onDiagnostic) {
  return runInCompileContext(
      source, options, onDiagnostic,
      [&](MLIRContext &context, function_ref<mlir::ModuleOp()> load) {
        return compileModel(load,
                            source.getKind() == ModelSource::Kind::File ? source.getPath()
                                                                        : StringRef(),
                            outputPath, options, context);
      });
}

moec::CompileResult
moec::compileToModule(const ModelSource &source, const CompileOptions &options,
                      function_ref<CompileStatus(mlir::ModuleOp)> use,
                      function_ref<void(const CompileDiagnostic &)> onDiagnostic) {
  return runInCompileContext(
      source, options, onDiagnostic,
      [&](MLIRContext &, function_ref<mlir::ModuleOp()> load) {
        mlir::ModuleOp module = load();
        if (!module || failed(runPipeline(module, options.pipeline)))
          return CompileStatus::BadInput;
        return use(module);
      });
}
