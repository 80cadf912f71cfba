//===- CudaTarget.h - Choosing the CUDA chip and finding the toolkit ------===//
//
// What a GPU compile needs from the machine it runs on: the chip to generate code for when
// asked for "the GPU here" (`--target=cuda`), the CUDA toolkit's libdevice, whose math
// functions the kernels link, and its assembler, which turns the kernels' PTX into machine
// code at compile time. None needs a GPU: without one, `cuda` falls back to sm_80.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_GPU_CUDATARGET_H
#define MOEC_CODEGEN_GPU_CUDATARGET_H

#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>

namespace moec {

/// The PTX ISA version every kernel is written for: the newest that LLVM 22's NVPTX backend
/// writes and CUDA 13's ptxas assembles (PTX ISA 9.0).
inline const char *const kPtxFeatures = "+ptx90";

/// The chip moec generates for a GPU of compute capability `capability` ("9.0", "8.6"), or
/// nothing when moec has no target for it (older than sm_80, or unreadable).
std::optional<std::string> chipForComputeCapability(llvm::StringRef capability);

/// The chip for `--target=cuda`.
struct DetectedChip {
  std::string chip;
  /// Empty when the chip is the GPU's own; otherwise one line saying why moec fell back
  /// (no nvidia-smi, no GPU, a GPU newer than moec's targets).
  std::string note;
  /// Set instead of a chip when the GPU is one moec cannot compile for.
  std::string error;
};

/// Asks `nvidia-smi --query-gpu=compute_cap --format=csv,noheader` (or the program that the
/// environment variable MOEC_NVIDIA_SMI names, for tests) for the first GPU's compute
/// capability. Without a GPU the answer is sm_80, whose PTX the driver compiles for every
/// later GPU when the program loads it.
DetectedChip detectCudaChip();

/// The CUDA toolkit's libdevice (`nvvm/libdevice/libdevice.10.bc`), looked up under
/// $CUDA_HOME, $CUDA_PATH, the toolkit of the `nvcc` on PATH, then /usr/local/cuda. When it
/// is nowhere, returns nothing and sets `searched` to the places looked at.
std::optional<std::string> findLibdevice(std::string &searched);

/// The first CUDA toolkit, searched as for libdevice, with both `bin/ptxas` and
/// `bin/fatbinary`: with them a compile embeds the kernels as a fatbin (the chip's cubin and
/// the PTX) instead of PTX alone. Nothing when no toolkit has both.
std::optional<std::string> findKernelAssemblerToolkit();

} // namespace moec

#endif // MOEC_CODEGEN_GPU_CUDATARGET_H
