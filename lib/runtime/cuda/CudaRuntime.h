//===- CudaRuntime.h - The GPU runtime's C++ side ---------------*- C++ -*-===//
//
// What main() uses of the GPU runtime besides the C functions that compiled
// code calls (the mgpu* functions and moec_rt_gpu_constant of
// include/moec-runtime/kernels.h).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_CUDARUNTIME_H
#define MOEC_LIB_RUNTIME_CUDARUNTIME_H

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace moec::rt::cuda {

// Waits until the process's stream has done all queued work; managed buffers
// that compiled code freed become reusable.
void synchronize();

// Milliseconds that `run` takes on the process's stream, between two CUDA
// events recorded before and after it, once the stream has finished it.
double timeOnStream(const std::function<void()> &run);

// CUDA graphs of repeated runs (docs/runtime-abi.md, "CUDA graphs"). Between beginCapture
// and endCapture the process's stream records instead of running: compiled code's launches,
// copies and fills become the graph's nodes, its final wait is skipped, its GPU buffers
// come from the pool (and stay reserved for the graph), and each host memory a copy reads
// or writes is replaced by page-locked staging, which a copy to the GPU fills at once.

// A host memory range that a captured copy reads (toDevice) or writes, and its staging.
struct HostStage {
  const void *host;
  void *staging;
  size_t bytes;
  bool toDevice;
};

class Graph {
public:
  ~Graph();
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  // Queues one replay on the process's stream (synchronize() waits for it).
  void launch();
  const std::vector<HostStage> &stages() const { return hostStages; }

private:
  friend std::unique_ptr<Graph> endCapture(std::string &why);
  struct Parts;
  explicit Graph(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts;
  std::vector<HostStage> hostStages;
};

// "" when the driver has what graphs need, else why not.
std::string graphsUnavailable();
// Starts capturing; "" on success, else why not (nothing was started).
std::string beginCapture();
// Stops capturing. The graph, ready to launch, or null with `why` set: the capture failed
// or was not sound (a driver allocation or an upload of weights while capturing, a GPU
// buffer left allocated); then nothing it recorded has run.
std::unique_ptr<Graph> endCapture(std::string &why);

} // namespace moec::rt::cuda

#endif // MOEC_LIB_RUNTIME_CUDARUNTIME_H
