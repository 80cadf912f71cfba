//===- Compile.h - The whole compile, from a model file to an output ------===//
//
// One call, compile(), runs every stage (DESIGN.md, "The pipeline"): import (or parse MLIR),
// the pipeline of Pipeline.h up to the stage asked for, then Emit: MLIR, the kernels' PTX, an
// object file, or an executable or shared library linked with moec's runtime, with the
// weights beside it when they are large. The moec command line only parses flags for it;
// the C API and the Python binding call the same (docs/embedding.md).
//
// Errors come back as values, one line each, with the status.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_COMPILER_COMPILE_H
#define MOEC_COMPILER_COMPILE_H

#include "moec/Compiler/Pipeline.h"
#include "moec/Importer/ONNXImporter.h"
#include "moec/Support/PrintIR.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace moec {

enum class OutputKind { Executable, SharedLibrary, Object, PTX, MLIR };

/// How the kernels of a GPU target are embedded in the program.
enum class KernelBinary {
  /// A fatbin when the CUDA toolkit has ptxas and fatbinary, else PTX.
  Automatic,
  /// PTX, which the driver compiles when the program loads it.
  PTX,
  /// The chip's cubin, assembled by ptxas at compile time, and the PTX.
  Fatbin,
};

struct CompileOptions {
  /// The stages to run. `pipeline.target` may also be "cuda": the GPU nvidia-smi sees.
  PipelineOptions pipeline;
  OutputKind output = OutputKind::Executable;
  KernelBinary kernelBinary = KernelBinary::Automatic;
  /// Weights larger than this many bytes in all go to OUTPUT.weights beside the output
  /// (0: whenever there are any).
  uint64_t weightsFileOver = uint64_t(1) << 30;
  ImportOptions import;
  /// How MLIR output is printed.
  PrintIROptions printIR;
  /// The MPI ranks to place the experts on (host target; docs/sharding.md); 1: unsharded.
  unsigned shardExperts = 1;
  /// Where moec's runtime libraries are, for linking; empty: getDefaultRuntimeLibraryDir().
  std::string runtimeLibraryDir;
};

/// How a compile ended; the values are moec's exit codes.
enum class CompileStatus {
  Success = 0,
  /// Something this build or machine cannot do (a toolkit missing, a link that failed,
  /// options that do not go together).
  Unavailable = 1,
  /// Bad input: the model, or an output that cannot be written.
  BadInput = 2,
};

/// Sets the option that the moec command line spells `--NAME=VALUE` (target, emit,
/// stop-after, quantize, quantize-group, quantize-scheme, quantize-config, report, precision,
/// gpu-binary, shard-experts, shard-profile, shard-replicate-hot, shard-placement,
/// weights-file-over, infer-shapes; disable-pass adds a name), for the C API and the Python
/// binding. Returns a one-line message for an unknown name or value, else "".
std::string setCompileOption(CompileOptions &options, llvm::StringRef name,
                             llvm::StringRef value);

/// Adds every dialect, extension and translation that a compile needs to `registry`.
void registerCompilerDialects(mlir::DialectRegistry &registry);

/// What to compile.
class ModelSource {
public:
  /// The model at `path`: `.onnx`, or `.mlir` at any level the pipeline starts from.
  static ModelSource file(llvm::StringRef path);
  /// A serialized ONNX model, which must outlive the compile. `name` names it in
  /// diagnostics; external data is looked up in `externalDataDir`.
  static ModelSource onnxBytes(llvm::StringRef bytes, llvm::StringRef name = "model.onnx",
                               llvm::StringRef externalDataDir = ".");
  /// A module whose `@main` takes and returns tensors, at any level the pipeline starts from
  /// (onnx, moe, upstream tensor-level dialects). It is compiled in place, in its context,
  /// to which the compile's dialects are added.
  static ModelSource module(mlir::ModuleOp module);

  enum class Kind { File, ONNXBytes, Module };
  Kind getKind() const { return kind; }
  llvm::StringRef getPath() const { return path; }
  llvm::StringRef getBytes() const { return bytes; }
  llvm::StringRef getExternalDataDir() const { return externalDataDir; }
  mlir::ModuleOp getModule() const { return moduleOp; }

private:
  Kind kind = Kind::File;
  /// The file, or the name of the bytes.
  std::string path;
  llvm::StringRef bytes;
  std::string externalDataDir;
  mlir::ModuleOp moduleOp;
};

/// One diagnostic of a compile.
struct CompileDiagnostic {
  mlir::DiagnosticSeverity severity;
  /// The file, with `:LINE:COL` where known; empty for errors about no file (the options,
  /// the machine).
  std::string location;
  /// One line; it names the ONNX node where there is one.
  std::string message;

  /// `error: LOCATION: MESSAGE` (or warning, note, remark), on one line: anything unprintable
  /// that the model's names bring (a newline, a NUL) is escaped.
  std::string str() const;
};

struct CompileResult {
  CompileStatus status = CompileStatus::Success;
  /// In the order they were emitted; remarks included.
  std::vector<CompileDiagnostic> diagnostics;

  bool succeeded() const { return status == CompileStatus::Success; }
  /// The errors, one str() a line.
  std::string getErrors() const;
};

/// Compiles `source` to `outputPath` (`-`: stdout, for MLIR, PTX and objects). Writes nothing
/// on failure: the output (and weights file) is written beside its path and renamed onto it
/// once whole. `onDiagnostic`, when given, sees each diagnostic as it is emitted (a command
/// line prints them in order with the output).
CompileResult
compile(const ModelSource &source, llvm::StringRef outputPath, const CompileOptions &options,
        llvm::function_ref<void(const CompileDiagnostic &)> onDiagnostic = nullptr);

/// Loads `source` and runs the pipeline up to `options.pipeline.stopAfter` on it, then
/// hands the module to `use`, whose status is the result's; nothing is emitted. For tools
/// that read a model at some stage (`moec plan` reads its raised MoE layers).
CompileResult
compileToModule(const ModelSource &source, const CompileOptions &options,
                llvm::function_ref<CompileStatus(mlir::ModuleOp)> use,
                llvm::function_ref<void(const CompileDiagnostic &)> onDiagnostic = nullptr);

} // namespace moec

#endif // MOEC_COMPILER_COMPILE_H
