//===- Emission.h - Object files, executables and libraries ---------------===//
//
// The last steps of a compile: an LLVM-dialect module becomes a native object file, and
// the object is linked with moec's runtime into an executable or a shared library.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_EMISSION_H
#define MOEC_CODEGEN_EMISSION_H

#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>

namespace llvm {
class raw_ostream;
class raw_pwrite_stream;
} // namespace llvm

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace moec {

struct HostObjectOptions {
  /// The CPU to generate code for; "native" is the machine moec runs on.
  std::string cpu = "native";
  /// LLVM's optimization level, 0 to 3.
  unsigned optLevel = 3;
};

/// Translates `module` (LLVM dialect only) to LLVM IR, optimizes it for the host CPU and
/// writes a relocatable object file to `os`. Errors are emitted on the module.
mlir::LogicalResult emitHostObject(mlir::ModuleOp module, llvm::raw_pwrite_stream &os,
                                   const HostObjectOptions &options);

/// The size of the weights file that moveWeightsToFile would write for `module` (LLVM
/// dialect): its constant tensors, each at a 64-byte aligned offset. 0 when it has none.
uint64_t getWeightsFileSize(mlir::ModuleOp module);

/// Writes the constant tensors of `module` (LLVM dialect) to `file` and makes the module
/// read them from the runtime's mapping of that file instead (`moec_weights` plus an
/// offset). Defines the weights symbols of docs/runtime-abi.md: `moec_weights_file` is
/// `fileName` (the file's name relative to the program's directory), `moec_weights_size`
/// and `moec_weights_checksum` describe what was written.
void moveWeightsToFile(mlir::ModuleOp module, llvm::StringRef fileName, llvm::raw_ostream &file);

/// The PTX of the kernels of `module` after the GPU pipeline: the assembly of the object in
/// `gpu.binary @moec_kernels`. Fails, with an error on the module, when there is none (a
/// model without kernels, or a module not lowered for a GPU).
mlir::FailureOr<std::string> getKernelsPTX(mlir::ModuleOp module);

enum class LinkedArtifact { Executable, SharedLibrary };

/// Links `objectPath` with moec's runtime into `outputPath`. On failure returns false and
/// sets `error` to a one-line explanation (including the linker's own message).
bool linkWithRuntime(llvm::StringRef objectPath, llvm::StringRef outputPath,
                     LinkedArtifact artifact, std::string &error);

} // namespace moec

#endif // MOEC_CODEGEN_EMISSION_H
