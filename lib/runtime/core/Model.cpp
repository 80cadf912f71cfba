//===- Model.cpp - Running the compiled model -----------------------------===//

#include "Model.h"

#include "moec-runtime/checksum.h"
#include "cpu/RoutingProfile.h"
#include "cuda/CudaRuntime.h"
#include "Npy.h"

#include "moec-runtime/model_abi.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// Only models with external weights define these; the runtime checks their
// addresses for null.
#pragma weak moec_weights_file
#pragma weak moec_weights_size
#pragma weak moec_weights_checksum
#pragma weak moec_weights
#pragma weak moec_gpu_graph_blocker
#pragma weak moec_shard_ranks
#pragma weak moec_shard_weights_checksums
// In libmoec_runtime_comm.a, which moec links into sharded programs only.
extern "C" int64_t moec_rt_comm_init(int64_t ranks) __attribute__((weak));

using namespace moec::rt;

namespace {
constexpr size_t kAlignment = 64;

// Words of a memref descriptor of rank R: allocated, aligned, offset,
// sizes[R], strides[R].
enum DescriptorWord { kAllocated = 0, kAligned = 1, kOffset = 2, kSizes = 3 };

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

std::vector<int64_t> makeDescriptor(const Tensor &tensor) {
  size_t rank = tensor.shape.size();
  std::vector<int64_t> words(MOEC_MEMREF_WORDS(rank));
  words[kAllocated] = words[kAligned] = reinterpret_cast<intptr_t>(tensor.data);
  words[kOffset] = 0;
  std::vector<int64_t> strides = rowMajorStrides(tensor.shape);
  for (size_t i = 0; i < rank; ++i) {
    words[kSizes + i] = tensor.shape[i];
    words[kSizes + rank + i] = strides[i];
  }
  return words;
}

// Copies a strided array into a dense row-major one, one dimension at a time.
void gatherStrided(const char *source, const int64_t *sizes, const int64_t *strides, size_t rank,
                   size_t elementSize, char *&destination) {
  if (rank == 0) {
    std::memcpy(destination, source, elementSize);
    destination += elementSize;
    return;
  }
  // Contiguous rows (an aligned allocation's dense result, which starts past the
  // allocation's start) are one copy each, not one per element.
  if (rank == 1 && strides[0] == 1) {
    size_t bytes = size_t(sizes[0]) * elementSize;
    std::memcpy(destination, source, bytes);
    destination += bytes;
    return;
  }
  for (int64_t i = 0; i < sizes[0]; ++i)
    gatherStrided(source + i * strides[0] * int64_t(elementSize), sizes + 1, strides + 1, rank - 1,
                  elementSize, destination);
}

// Turns output `spec`'s filled descriptor into an owned dense tensor: as is
// when the data is dense at the start of its allocation, else as a copy. An allocation
// `shared` with an earlier output (the compiler may return one buffer for equal outputs)
// is owned by that output and only copied from.
std::string takeOutput(const TensorSpec &spec, const std::vector<int64_t> &words, bool shared,
                       Tensor &out) {
  size_t rank = spec.dims.size();
  Buffer allocation(shared ? nullptr : reinterpret_cast<void *>(words[kAllocated]));
  out.dtype = spec.dtype;
  out.shape.assign(words.begin() + kSizes, words.begin() + kSizes + rank);
  for (size_t i = 0; i < rank; ++i) {
    const Dim &dim = spec.dims[i];
    if (out.shape[i] < 0 || (dim.size != Dim::kDynamic && dim.size != out.shape[i]))
      return "output '" + spec.name + "' came back with shape " + shapeString(out.shape) +
             ", not " + spec.shapeString();
  }
  if (numElements(out.shape) < 0)
    return "output '" + spec.name + "' has an impossible shape " + shapeString(out.shape);
  if (out.byteSize() != 0 && (!words[kAllocated] || !words[kAligned]))
    return "output '" + spec.name + "' has shape " + shapeString(out.shape) + " but no data";

  size_t elementSize = dtypeSize(spec.dtype);
  const char *first =
      reinterpret_cast<const char *>(words[kAligned]) + words[kOffset] * int64_t(elementSize);
  std::vector<int64_t> strides(words.begin() + kSizes + rank, words.end());
  if (!shared && first == allocation.get() && (strides == rowMajorStrides(out.shape) || out.byteSize() == 0)) {
    out.data = allocation.get();
    out.storage = std::move(allocation);
    return "";
  }
  out.storage = allocateBuffer(out.byteSize());
  if (!out.storage)
    return "out of memory for output '" + spec.name + "'";
  out.data = out.storage.get();
  char *destination = static_cast<char *>(out.data);
  if (out.byteSize() != 0)
    gatherStrided(first, out.shape.data(), strides.data(), rank, elementSize, destination);
  return "";
}

// The arguments of one call of moec_model_run: the inputs' descriptors, and zeroed
// storage for the outputs' descriptors, which the call fills.
struct CompiledCall {
  std::vector<std::vector<int64_t>> inputWords, outputWords;

  CompiledCall(const ModelInfo &info, const std::vector<Tensor> &inputs) {
    for (const Tensor &input : inputs)
      inputWords.push_back(makeDescriptor(input));
    for (const TensorSpec &spec : info.outputs)
      outputWords.emplace_back(MOEC_MEMREF_WORDS(spec.dims.size()), 0);
  }

  void run() {
    std::vector<void *> inputPointers, outputPointers;
    for (auto &words : inputWords)
      inputPointers.push_back(words.data());
    for (auto &words : outputWords)
      outputPointers.push_back(words.data());
    beginRoutingProfileRun();
    moec_model_run(inputPointers.data(), outputPointers.data());
  }
};

// The outputs of a call as owned dense tensors. Each allocation becomes the first output's
// that has it, unless `copyAll` (the allocations stay with the caller). Every output is
// taken (and so freed) even after an error in an earlier one.
std::string takeOutputs(const ModelInfo &info, const std::vector<std::vector<int64_t>> &outputWords,
                        bool copyAll, std::vector<Tensor> &outputs) {
  std::string firstError;
  outputs.clear();
  outputs.resize(info.outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    bool shared =
        copyAll || std::any_of(outputWords.begin(), outputWords.begin() + i, [&](const auto &w) {
          return outputWords[i][kAllocated] != 0 && w[kAllocated] == outputWords[i][kAllocated];
        });
    std::string error = takeOutput(info.outputs[i], outputWords[i], shared, outputs[i]);
    if (firstError.empty())
      firstError = error;
  }
  return firstError;
}

// The bytes an output's elements span, from its allocation's start: [first, end).
std::pair<uintptr_t, uintptr_t> outputExtent(const std::vector<int64_t> &words, size_t rank,
                                             size_t elementSize) {
  uintptr_t first =
      uintptr_t(words[kAligned] - words[kAllocated]) + uintptr_t(words[kOffset]) * elementSize;
  int64_t last = 0;
  for (size_t i = 0; i < rank; ++i) {
    if (words[kSizes + i] <= 0)
      return {first, first};
    last += (words[kSizes + i] - 1) * words[kSizes + rank + i];
  }
  return {first, first + uintptr_t(last + 1) * elementSize};
}

// Why the compiled model's runs cannot be replayed as CUDA graphs at all, or "".
std::string graphBlocker() {
  if (&moec_gpu_graph_blocker == nullptr)
    return "the model does not record whether its runs can be replayed (compiled by an older "
           "moec)";
  if (*moec_gpu_graph_blocker)
    return moec_gpu_graph_blocker;
  // For comparing with plain runs (benchmarks) and for ruling graphs out when debugging.
  if (const char *graphs = std::getenv("MOEC_CUDA_GRAPHS"); graphs && std::strcmp(graphs, "0") == 0)
    return "MOEC_CUDA_GRAPHS=0";
  return cuda::graphsUnavailable();
}

std::vector<std::vector<int64_t>> shapesOf(const std::vector<Tensor> &tensors) {
  std::vector<std::vector<int64_t>> shapes;
  for (const Tensor &tensor : tensors)
    shapes.push_back(tensor.shape);
  return shapes;
}

std::string verifyWeights(const std::string &path, uint64_t checksum) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return "cannot open the weights file '" + path + "': " + std::strerror(errno);
  struct stat status;
  if (fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
    close(fd);
    return "the weights file '" + path + "' is not a regular file";
  }
  if (uint64_t(status.st_size) != moec_weights_size) {
    close(fd);
    return "the weights file '" + path + "' has " + std::to_string(status.st_size) +
           " bytes, the model expects " + std::to_string(moec_weights_size);
  }
  void *base = nullptr;
  if (moec_weights_size != 0) {
    base = mmap(nullptr, moec_weights_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
      int savedErrno = errno;
      close(fd);
      return "cannot map the weights file '" + path + "': " + std::strerror(savedErrno);
    }
  }
  close(fd);
  // For benchmarks only: weights written into the file after compiling (benchmarks/gpu)
  // cannot match the checksum moec computed; the size check above still holds.
  const char *unchecked = std::getenv("MOEC_UNCHECKED_WEIGHTS");
  bool skipChecksum = unchecked && std::strcmp(unchecked, "1") == 0;
  if (!skipChecksum && moec_checksum64(base, moec_weights_size) != checksum) {
    if (base)
      munmap(base, moec_weights_size);
    return "the weights file '" + path +
           "' has the wrong checksum (damaged, or from another build of the model)";
  }
  // Kept mapped for the rest of the process: compiled code holds pointers in.
  moec_weights = base;
  return "";
}
} // namespace

Buffer moec::rt::allocateBuffer(size_t bytes) {
  return Buffer(hostMemoryPool().allocate(bytes, kAlignment));
}

size_t Tensor::byteSize() const { return size_t(numElements(shape)) * dtypeSize(dtype); }

std::string Model::load() { return parseModelInfo(moec_model_info, modelInfo); }

int64_t Model::shardRank() {
  static const int64_t rank = [] {
    if (&moec_shard_ranks == nullptr)
      return int64_t(-1);
    // A sharded program links the MPI part, which exits with its message on a world of
    // the wrong size.
    return moec_rt_comm_init ? moec_rt_comm_init(moec_shard_ranks) : int64_t(-1);
  }();
  return rank;
}

std::string Model::mapWeights(const std::string &directory) {
  static std::once_flag once;
  static std::string outcome;
  std::call_once(once, [&] {
    if (&moec_shard_ranks != nullptr &&
        (moec_rt_comm_init == nullptr || &moec_shard_weights_checksums == nullptr)) {
      outcome = "the program is sharded but lacks moec_shard_weights_checksums or moec's MPI "
                "runtime (moec_rt_comm_init)";
      return;
    }
    int64_t rank = shardRank();
    if (&moec_weights_file == nullptr)
      return;
    if (&moec_weights_size == nullptr || &moec_weights_checksum == nullptr ||
        &moec_weights == nullptr) {
      outcome = "the model names a weights file but lacks moec_weights_size, "
                "moec_weights_checksum or moec_weights";
      return;
    }
    std::string file = moec_weights_file;
    uint64_t checksum = moec_weights_checksum;
    // Rank R's file: OUT.rank<R>.weights beside OUT.weights's place.
    const std::string suffix = ".weights";
    if (rank >= 0 && file.size() >= suffix.size() &&
        file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0) {
      file.insert(file.size() - suffix.size(), ".rank" + std::to_string(rank));
      checksum = moec_shard_weights_checksums[rank];
    }
    outcome = verifyWeights(directory + "/" + file, checksum);
  });
  return outcome;
}

std::string Model::checkInputs(const std::vector<Tensor> &inputs) const {
  if (inputs.size() != modelInfo.inputs.size())
    return "the model takes " + std::to_string(modelInfo.inputs.size()) + " inputs, got " +
           std::to_string(inputs.size());
  ShapeBinder binder;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (std::string error = binder.bind(modelInfo.inputs[i], inputs[i].dtype, inputs[i].shape);
        !error.empty())
      return error;
  return "";
}

namespace {
/// A piece of input or output `tensor` (at `offset` bytes from its data or allocation)
/// that a captured copy reads or writes in staging instead.
struct StagedPiece {
  size_t tensor;
  uintptr_t offset;
  void *staging;
  size_t bytes;
};

/// A captured run and what the runs that replay it copy in and out.
struct Replay {
  std::vector<std::vector<int64_t>> inputShapes;
  std::unique_ptr<cuda::Graph> graph;
  std::vector<StagedPiece> inputPieces, outputPieces;
  // The captured call's outputs: what host code wrote into them at capture stays, the
  // staged pieces are refreshed by every replay.
  std::vector<std::vector<int64_t>> outputWords;
  std::vector<Buffer> outputAllocations;
};

/// Ties each host memory a captured copy names to the input or output it lies in.
/// Returns "" or why the capture cannot be replayed.
std::string stageTensors(const ModelInfo &info, const std::vector<Tensor> &inputs,
                         const std::vector<std::vector<int64_t>> &outputWords,
                         const std::vector<cuda::HostStage> &stages, Replay &replay) {
  for (const cuda::HostStage &stage : stages) {
    auto host = reinterpret_cast<uintptr_t>(stage.host);
    auto within = [&](uintptr_t begin, uintptr_t end) {
      return begin <= host && host + stage.bytes <= end;
    };
    bool placed = false;
    if (stage.toDevice) {
      for (size_t i = 0; i < inputs.size() && !placed; ++i) {
        auto data = reinterpret_cast<uintptr_t>(inputs[i].data);
        if ((placed = within(data, data + inputs[i].byteSize())))
          replay.inputPieces.push_back({i, host - data, stage.staging, stage.bytes});
      }
      // Anything else the run copied to the GPU host code computed from shapes and
      // constants (no host code reads an input's elements or waits for GPU results in a
      // replayable run): the staging keeps what the capture put there.
      continue;
    }
    for (size_t i = 0; i < outputWords.size() && !placed; ++i) {
      const std::vector<int64_t> &words = outputWords[i];
      size_t rank = info.outputs[i].dims.size();
      auto [first, end] = outputExtent(words, rank, dtypeSize(info.outputs[i].dtype));
      auto allocated = uintptr_t(words[kAllocated]);
      if ((placed = allocated && within(allocated + first, allocated + end)))
        replay.outputPieces.push_back({i, host - allocated, stage.staging, stage.bytes});
    }
    if (!placed)
      return "a captured copy from the GPU writes host memory that is no output";
  }
  return "";
}
} // namespace

/// The CUDA graph of the last input shapes captured (docs/runtime-abi.md, "CUDA graphs").
struct Model::GraphRuns {
  // Why runs are plain from now on ("" while captures may be tried).
  std::string blocker;
  std::vector<std::vector<int64_t>> lastPlainShapes;
  bool ranPlain = false;
  std::unique_ptr<Replay> replay;

  void disable(const std::string &why) {
    blocker = why;
    std::fprintf(stderr, "note: runs are not replayed as a CUDA graph: %s\n", why.c_str());
  }
};

Model::Model() : graphRuns(std::make_unique<GraphRuns>()) {}
Model::~Model() = default;

// Held by every run on a GPU, of any model in the process: all GPU work goes to one stream,
// and a capture must record its own run's work and nothing else.
std::mutex &gpuRunMutex() {
  static std::mutex mutex;
  return mutex;
}

std::string Model::run(const std::vector<Tensor> &inputs, std::vector<Tensor> &outputs) const {
  std::unique_lock<std::mutex> gpuRun(gpuRunMutex(), std::defer_lock);
  if (modelInfo.isGpuTarget()) {
    gpuRun.lock();
    GraphRuns &graphs = *graphRuns;
    std::vector<std::vector<int64_t>> shapes = shapesOf(inputs);
    bool captured = graphs.replay && graphs.replay->inputShapes == shapes;
    if (!captured && graphs.ranPlain && graphs.lastPlainShapes == shapes)
      captured = capture(inputs);
    if (captured)
      return replay(inputs, outputs);
    graphs.lastPlainShapes = shapes;
    graphs.ranPlain = true;
  }
  CompiledCall call(modelInfo, inputs);
  // On a GPU target, compiled code waits for its GPU work before it returns (once per
  // run, moec-order-gpu-work-on-stream): the outputs are complete.
  call.run();
  return takeOutputs(modelInfo, call.outputWords, /*copyAll=*/false, outputs);
}

void Model::prepareRepeatedRuns(const std::vector<Tensor> &inputs) const {
  if (!modelInfo.isGpuTarget())
    return;
  std::lock_guard<std::mutex> gpuRun(gpuRunMutex());
  if (!(graphRuns->replay && graphRuns->replay->inputShapes == shapesOf(inputs)))
    capture(inputs);
}

bool Model::capture(const std::vector<Tensor> &inputs) const {
  GraphRuns &graphs = *graphRuns;
  if (!graphs.blocker.empty())
    return false;
  if (std::string why = graphBlocker(); !why.empty()) {
    graphs.disable(why);
    return false;
  }
  // The old graph's buffers go back to the pool, where this capture may find them.
  graphs.replay.reset();
  if (std::string why = cuda::beginCapture(); !why.empty()) {
    graphs.disable(why);
    return false;
  }
  CompiledCall call(modelInfo, inputs);
  call.run();
  std::string why;
  std::unique_ptr<cuda::Graph> graph = cuda::endCapture(why);

  auto replay = std::make_unique<Replay>();
  for (size_t i = 0; i < call.outputWords.size(); ++i) {
    int64_t allocated = call.outputWords[i][kAllocated];
    bool taken = std::any_of(call.outputWords.begin(), call.outputWords.begin() + i,
                             [&](const auto &w) { return w[kAllocated] == allocated; });
    if (allocated && !taken)
      replay->outputAllocations.emplace_back(reinterpret_cast<void *>(allocated));
  }
  if (graph)
    why = stageTensors(modelInfo, inputs, call.outputWords, graph->stages(), *replay);
  if (!why.empty()) {
    graphs.disable(why);
    return false;
  }
  replay->inputShapes = shapesOf(inputs);
  replay->graph = std::move(graph);
  replay->outputWords = std::move(call.outputWords);
  graphs.replay = std::move(replay);
  return true;
}

std::string Model::replay(const std::vector<Tensor> &inputs, std::vector<Tensor> &outputs) const {
  Replay &replay = *graphRuns->replay;
  for (const StagedPiece &stage : replay.inputPieces)
    std::memcpy(stage.staging, static_cast<const char *>(inputs[stage.tensor].data) + stage.offset,
                stage.bytes);
  replay.graph->launch();
  cuda::synchronize();
  for (const StagedPiece &stage : replay.outputPieces)
    std::memcpy(reinterpret_cast<char *>(replay.outputWords[stage.tensor][kAllocated]) +
                    stage.offset,
                stage.staging, stage.bytes);
  return takeOutputs(modelInfo, replay.outputWords, /*copyAll=*/true, outputs);
}
