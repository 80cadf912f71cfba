//===- Compile.h - The whole compile, from a model file to an output ------===//
//
// One call runs every stage (DESIGN.md, "The pipeline"): import (or parse MLIR), the
// pipeline of Pipeline.h up to the stage asked for, then Emit: MLIR, the kernels' PTX, an
// object file, or an executable or shared library linked with moec's runtime, with the
// weights beside it when they are large. The moec command line only parses flags for it;
// the C API and the Python binding call the same.
//
// Errors are diagnostics on the context, one line each: the caller installs the handler
// that prints or collects them.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_COMPILER_COMPILE_H
#define MOEC_COMPILER_COMPILE_H

#include "moec/Compiler/Pipeline.h"
#include "moec/Importer/ONNXImporter.h"
#include "moec/Support/PrintIR.h"

#include <cstdint>

namespace mlir {
class DialectRegistry;
class MLIRContext;
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

/// Adds every dialect, extension and translation that a compile needs to `registry`.
void registerCompilerDialects(mlir::DialectRegistry &registry);

/// Compiles the model at `inputPath` (`.onnx`, or `.mlir` at any level the pipeline starts
/// from) to `outputPath` (`-`: stdout, for MLIR, PTX and objects). Writes nothing on failure:
/// the output (and weights file) is written beside its path and renamed onto it once whole.
/// `context` must hold registerCompilerDialects' dialects.
CompileStatus compileFile(llvm::StringRef inputPath, llvm::StringRef outputPath,
                          const CompileOptions &options, mlir::MLIRContext &context);

} // namespace moec

#endif // MOEC_COMPILER_COMPILE_H
