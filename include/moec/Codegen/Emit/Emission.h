//===- Emission.h - Object files, executables and libraries ---------------===//
//
// The last steps of a compile: an LLVM-dialect module becomes a native object file, and
// the object is linked with moec's runtime into an executable or a shared library.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_EMIT_EMISSION_H
#define MOEC_CODEGEN_EMIT_EMISSION_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

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

/// Where one constant tensor lies in the weights file.
struct WeightsFileEntry {
  /// The constant's resource key (e.g. the ONNX initializer's name), else its global's.
  std::string name;
  uint64_t offset;
  uint64_t bytes;
  /// The element type as MLIR prints it (`bf16`, `f32`, `i64`).
  std::string elementType;
  llvm::SmallVector<int64_t> shape;
};

/// Writes the constant tensors of `module` (LLVM dialect) to `file` and makes the module
/// read them from the runtime's mapping of that file instead (`moec_weights` plus an
/// offset). Defines the weights symbols of docs/runtime-abi.md: `moec_weights_file` is
/// `fileName` (the file's name relative to the program's directory), `moec_weights_size`
/// and `moec_weights_checksum` describe what was written. 64 MiB runs of zeros are left
/// as holes where `file` can seek. Returns where each tensor went, in file order.
llvm::SmallVector<WeightsFileEntry> moveWeightsToFile(mlir::ModuleOp module,
                                                      llvm::StringRef fileName,
                                                      llvm::raw_fd_ostream &file);

/// The moec_checksum64 of the weights file that moveWeightsToFile wrote for `module`.
uint64_t getWeightsChecksum(mlir::ModuleOp module);

/// Makes `module` the program of every rank of an expert-parallel job (docs/sharding.md):
/// `moec_shard_ranks` and `moec_shard_weights_checksums`, rank R's file's checksum at R.
void declareShardedWeights(mlir::ModuleOp module, llvm::ArrayRef<uint64_t> checksums);

/// Writes the manifest of a weights file of `size` bytes named `fileName` as JSON:
/// `{"file", "size", "weights": [{"name", "offset", "bytes", "dtype", "shape"}]}`
/// (docs/moec.md, "Weights beside the program").
void writeWeightsManifest(llvm::StringRef fileName, uint64_t size,
                          llvm::ArrayRef<WeightsFileEntry> entries, llvm::raw_ostream &os);

/// The PTX of the kernels of `module` after the GPU pipeline: the assembly of the object in
/// `gpu.binary @moec_kernels`. Fails, with an error on the module, when there is none (a
/// model without kernels, or a module not lowered for a GPU).
mlir::FailureOr<std::string> getKernelsPTX(mlir::ModuleOp module);

enum class LinkedArtifact { Executable, SharedLibrary };

/// The folder of moec's runtime libraries (libmoec_runtime.a, ...) in the build tree and in
/// an installation: `lib/` beside the folder of the binary that holds this code (the moec
/// executable in `bin/`, or libMoECCAPI.so in `lib/`).
std::string getDefaultRuntimeLibraryDir();

/// Links `objectPath` with moec's runtime, whose libraries are in `runtimeLibraryDir`, into
/// `outputPath`; with `expertParallel`, also with its MPI part (libmoec_runtime_comm.a) and
/// Open MPI. On failure returns false and sets `error` to a one-line explanation
/// (including the linker's own message).
bool linkWithRuntime(llvm::StringRef objectPath, llvm::StringRef outputPath,
                     LinkedArtifact artifact, llvm::StringRef runtimeLibraryDir,
                     std::string &error, bool expertParallel = false);

} // namespace moec

#endif // MOEC_CODEGEN_EMIT_EMISSION_H
