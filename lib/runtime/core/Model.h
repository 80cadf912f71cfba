//===- Model.h - Running the compiled model ---------------------*- C++ -*-===//
//
// What the executable's main() and the shared library's C API share: the
// parsed model info, the weights mapping, input checks, and one run through
// moec_model_run with memref descriptors built and read back.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_MODEL_H
#define MOEC_LIB_RUNTIME_MODEL_H

#include "HostMemoryPool.h"
#include "ModelInfo.h"

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace moec::rt {

struct PoolDeleter {
  void operator()(void *pointer) const { hostMemoryPool().deallocate(pointer); }
};
// Host memory from hostMemoryPool(), or what a compiled model returned.
using Buffer = std::unique_ptr<void, PoolDeleter>;

// At least `bytes` bytes (and at least one) aligned to 64, from hostMemoryPool();
// null if out of memory.
Buffer allocateBuffer(size_t bytes);

// A dense row-major tensor. `data` points into `storage` when the runtime owns
// the elements; `storage` is empty when a caller lends them.
struct Tensor {
  DType dtype = DType::Float32;
  std::vector<int64_t> shape;
  void *data = nullptr;
  Buffer storage;

  size_t byteSize() const;
};

class Model {
public:
  // Parses moec_model_info. Returns "" on success; else the compiled model is
  // broken and the message says how.
  std::string load();

  // Maps the weights file, if the model has one, from `directory` (where the
  // executable or shared library lies), verifies its size and checksum and
  // points moec_weights at it. Once per process; later calls return the first
  // outcome. Returns "" on success, else the reason.
  static std::string mapWeights(const std::string &directory);

  // A program compiled with --shard-experts: this process's rank in the MPI job (MPI is
  // started on the first call, and a job of the wrong size exits with its message);
  // otherwise -1.
  static int64_t shardRank();

  const ModelInfo &info() const { return modelInfo; }

  // Returns "" if `inputs` (in the model's order) fit the model, else the first
  // reason they do not.
  std::string checkInputs(const std::vector<Tensor> &inputs) const;

  // Runs the model once on checked inputs. Each output comes back dense,
  // row-major and owned. Returns "" on success, else how the compiled model
  // broke its contract. On a GPU target a run with the input shapes of the run
  // before it is captured into a CUDA graph, and later runs with those shapes
  // replay it (docs/runtime-abi.md, "CUDA graphs"), when the model and the
  // driver allow it; a note on stderr says once why not. Runs of one model must
  // not overlap; GPU runs of all models in the process are serialized (one
  // stream, and a capture must see its own run's work only).
  std::string run(const std::vector<Tensor> &inputs, std::vector<Tensor> &outputs) const;

  // After a run on `inputs`, captures the next one into a CUDA graph without
  // running it, so that the runs that follow replay it (for --bench, whose
  // timed runs should all be replays).
  void prepareRepeatedRuns(const std::vector<Tensor> &inputs) const;

  Model();
  ~Model();

private:
  struct GraphRuns;

  // Captures a run on `inputs` into graphRuns; false (with a note, once) if it cannot.
  bool capture(const std::vector<Tensor> &inputs) const;
  // A run that replays the captured graph.
  std::string replay(const std::vector<Tensor> &inputs, std::vector<Tensor> &outputs) const;

  ModelInfo modelInfo;
  // What repeated runs on a GPU replay; a cache, so run() stays const.
  std::unique_ptr<GraphRuns> graphRuns;
};

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_MODEL_H
