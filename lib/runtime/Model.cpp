//===- Model.cpp - Running the compiled model -----------------------------===//

#include "Model.h"

#include "Checksum.h"
#include "Npy.h"

#include "moec-runtime/model_abi.h"

#include <algorithm>
#include <cerrno>
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

std::string verifyWeights(const std::string &path) {
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
  if (!skipChecksum && moec_checksum64(base, moec_weights_size) != moec_weights_checksum) {
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
  size_t rounded = (std::max<size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  return Buffer(std::aligned_alloc(kAlignment, rounded));
}

size_t Tensor::byteSize() const { return size_t(numElements(shape)) * dtypeSize(dtype); }

std::string Model::load() { return parseModelInfo(moec_model_info, modelInfo); }

std::string Model::mapWeights(const std::string &directory) {
  static std::once_flag once;
  static std::string outcome;
  std::call_once(once, [&] {
    if (&moec_weights_file == nullptr)
      return;
    if (&moec_weights_size == nullptr || &moec_weights_checksum == nullptr ||
        &moec_weights == nullptr)
      outcome = "the model names a weights file but lacks moec_weights_size, "
                "moec_weights_checksum or moec_weights";
    else
      outcome = verifyWeights(directory + "/" + moec_weights_file);
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

std::string Model::run(const std::vector<Tensor> &inputs, std::vector<Tensor> &outputs) const {
  std::vector<std::vector<int64_t>> inputWords, outputWords;
  std::vector<void *> inputPointers, outputPointers;
  for (const Tensor &input : inputs)
    inputWords.push_back(makeDescriptor(input));
  for (const TensorSpec &spec : modelInfo.outputs)
    outputWords.emplace_back(MOEC_MEMREF_WORDS(spec.dims.size()), 0);
  for (auto &words : inputWords)
    inputPointers.push_back(words.data());
  for (auto &words : outputWords)
    outputPointers.push_back(words.data());

  // On a GPU target, compiled code waits for its GPU work before it returns (once per
  // run, moec-order-gpu-work-on-stream): the outputs are complete.
  moec_model_run(inputPointers.data(), outputPointers.data());

  // Every output is taken (and so freed) even after an error in an earlier one.
  std::string firstError;
  outputs.clear();
  outputs.resize(modelInfo.outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    bool shared = std::any_of(outputWords.begin(), outputWords.begin() + i, [&](const auto &w) {
      return outputWords[i][kAllocated] != 0 && w[kAllocated] == outputWords[i][kAllocated];
    });
    std::string error = takeOutput(modelInfo.outputs[i], outputWords[i], shared, outputs[i]);
    if (firstError.empty())
      firstError = error;
  }
  return firstError;
}
