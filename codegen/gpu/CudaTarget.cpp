//===- CudaTarget.cpp - Choosing the CUDA chip and finding the toolkit ----===//

#include "moec/Codegen/GPU/CudaTarget.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

using namespace llvm;

std::optional<std::string> moec::chipForComputeCapability(StringRef capability) {
  auto [majorText, minorText] = capability.trim().split('.');
  unsigned major, minor;
  if (majorText.getAsInteger(10, major) || minorText.getAsInteger(10, minor))
    return std::nullopt;
  if (major > 9)
    // Newer GPUs run sm_90 PTX through the driver's JIT; sm_90a PTX runs on sm_90 only.
    return std::string("sm_90");
  if (major == 9)
    return std::string("sm_90a");
  if (major == 8)
    return std::string(minor >= 9 ? "sm_89" : "sm_80");
  return std::nullopt;
}

/// Runs `program args...` and returns its standard output, or nothing if it cannot be run
/// or fails.
static std::optional<std::string> runAndRead(StringRef program, ArrayRef<StringRef> args) {
  SmallString<128> outputPath;
  if (sys::fs::createTemporaryFile("moec-nvidia-smi", "txt", outputPath))
    return std::nullopt;
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(outputPath), StringRef("")};
  SmallVector<StringRef> argv = {program};
  argv.append(args.begin(), args.end());
  int status = sys::ExecuteAndWait(program, argv, std::nullopt, redirects,
                                   /*SecondsToWait=*/60);
  ErrorOr<std::unique_ptr<MemoryBuffer>> output = MemoryBuffer::getFile(outputPath);
  sys::fs::remove(outputPath);
  if (status != 0 || !output)
    return std::nullopt;
  return (*output)->getBuffer().str();
}

moec::DetectedChip moec::detectCudaChip() {
  constexpr StringLiteral fallback = "sm_80";
  constexpr StringLiteral whyFallback =
      "; compiling for sm_80, whose PTX the driver compiles for every later GPU at load";
  std::optional<std::string> smi = sys::Process::GetEnv("MOEC_NVIDIA_SMI");
  if (!smi) {
    ErrorOr<std::string> found = sys::findProgramByName("nvidia-smi");
    if (!found)
      return {fallback.str(), ("--target=cuda: no nvidia-smi on PATH" + whyFallback).str(), ""};
    smi = *found;
  }
  std::optional<std::string> answer =
      runAndRead(*smi, {"--query-gpu=compute_cap", "--format=csv,noheader"});
  StringRef firstGpu = answer ? StringRef(*answer).split('\n').first.trim() : StringRef();
  if (firstGpu.empty())
    return {fallback.str(), ("--target=cuda: nvidia-smi sees no GPU" + whyFallback).str(), ""};
  std::optional<std::string> chip = chipForComputeCapability(firstGpu);
  if (!chip)
    return {"", "",
            ("--target=cuda: the GPU has compute capability " + firstGpu +
             ", and moec's oldest target is sm_80")
                .str()};
  std::string note;
  if (*chip == "sm_90") // only a GPU newer than Hopper maps to plain sm_90
    note = ("--target=cuda: the GPU has compute capability " + firstGpu +
            ", newer than moec's targets; compiling for sm_90, which its driver runs")
               .str();
  return {*chip, note, ""};
}

/// The CUDA toolkits to look in, in order: $CUDA_HOME, $CUDA_PATH, the toolkit of the `nvcc`
/// on PATH, /usr/local/cuda.
static SmallVector<std::string> cudaToolkitCandidates() {
  SmallVector<std::string> toolkits;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"})
    if (std::optional<std::string> dir = sys::Process::GetEnv(variable))
      toolkits.push_back(*dir);
  if (ErrorOr<std::string> nvcc = sys::findProgramByName("nvcc")) {
    // nvcc is TOOLKIT/bin/nvcc; PATH often holds a symbolic link to it.
    SmallString<256> real;
    if (sys::fs::real_path(*nvcc, real))
      real = *nvcc;
    toolkits.push_back(sys::path::parent_path(sys::path::parent_path(real)).str());
  }
  toolkits.push_back("/usr/local/cuda");
  return toolkits;
}

std::optional<std::string> moec::findLibdevice(std::string &searched) {
  SmallVector<std::string> candidates;
  for (const std::string &toolkit : cudaToolkitCandidates()) {
    SmallString<256> path(toolkit);
    sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
    if (sys::fs::exists(path))
      return std::string(path);
    candidates.push_back(std::string(path));
  }
  searched = join(candidates, ", ");
  return std::nullopt;
}

std::optional<std::string> moec::findKernelAssemblerToolkit() {
  for (const std::string &toolkit : cudaToolkitCandidates()) {
    auto hasTool = [&](StringRef tool) {
      SmallString<256> path(toolkit);
      sys::path::append(path, "bin", tool);
      return sys::fs::can_execute(path);
    };
    if (hasTool("ptxas") && hasTool("fatbinary"))
      return toolkit;
  }
  return std::nullopt;
}
