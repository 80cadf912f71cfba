//===- FakeCudaDriver.cpp - A CUDA driver for tests without a GPU ---------===//
//
// Exports the driver entry points that lib/runtime/cuda/CudaDriver.cpp looks up,
// so that the GPU runtime runs through MOEC_CUDA_DRIVER=<this library> on any
// machine. Module loads and launches succeed and do nothing (outputs are
// whatever the buffers held). Memory is modelled as the host sees it:
// - device memory (cuMemAlloc) is a shared memory file mapped twice: the
//   address handed out is a view the host cannot touch (PROT_NONE), so that a
//   program whose host code reads or writes device memory crashes here as it
//   would on a GPU; the fake's own copies and fills go through a second,
//   read-write view of the same pages;
// - managed memory (cuMemAllocManaged) is host memory;
// - cuMemcpyAsync takes any mix of the two (unified addressing);
// - page-locked host memory (cuMemHostAlloc) is host memory.
// Stream capture records the stream's copies and fills instead of doing them
// (and launches, which do nothing anyway); a graph launch does the recorded
// ones in order. Synchronizing a capturing stream fails and invalidates the
// capture, as on a GPU.
// For tests:
// - every entry point counts its calls: moec_fake_cuda_calls("cuMemAlloc_v2");
//   moec_fake_cuda_reset() zeroes the counts;
// - MOEC_FAKE_CUDA_FAIL=ENTRY@N=CODE[,...] makes the Nth call of ENTRY (counted
//   from the last reset) return CODE instead, and ENTRY@N+=CODE every call from
//   the Nth on: cuMemAlloc_v2@3=2 runs out of memory at the third allocation;
// - MOEC_FAKE_CUDA_DEVICES=N makes cuDeviceGetCount report N devices (1);
// - MOEC_FAKE_CUDA_TRACE=1 prints module loads, launches (with the kernel's
//   name), allocations, stream synchronizations and tensor maps on stderr
//   ("fake-cuda: ...") for FileCheck.
//
//===----------------------------------------------------------------------===//

#include "cuda/CudaDriver.h"

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace moec::rt::cuda;

namespace {
std::mutex mutex;
// Never destroyed: compiled code unloads its module from a global destructor,
// after this library's static objects are gone.
std::map<std::string, long> &callCounts() {
  static auto *counts = new std::map<std::string, long>;
  return *counts;
}

// The result that MOEC_FAKE_CUDA_FAIL asks `entry`'s `call`th call to return,
// or 0.
CUresult injectedFailure(const std::string &entry, long call) {
  const char *spec = std::getenv("MOEC_FAKE_CUDA_FAIL");
  if (!spec)
    return 0;
  std::string text = spec;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    size_t at = item.find('@'), equals = item.find('=');
    if (at == std::string::npos || equals == std::string::npos || item.substr(0, at) != entry)
      continue;
    std::string when = item.substr(at + 1, equals - at - 1);
    bool andLater = !when.empty() && when.back() == '+';
    long nth = std::atol(when.c_str());
    if (call == nth || (andLater && call > nth))
      return std::atoi(item.c_str() + equals + 1);
  }
  return 0;
}

// Counts a call of `entry`; returns the failure to inject, or 0.
CUresult enter(const char *entry) {
  std::lock_guard<std::mutex> lock(mutex);
  return injectedFailure(entry, ++callCounts()[entry]);
}

void trace(const char *format, ...) __attribute__((format(printf, 1, 2)));
void trace(const char *format, ...) {
  const char *enabled = std::getenv("MOEC_FAKE_CUDA_TRACE");
  if (!enabled || std::strcmp(enabled, "1") != 0)
    return;
  va_list arguments;
  va_start(arguments, format);
  std::fputs("fake-cuda: ", stderr);
  std::vfprintf(stderr, format, arguments);
  std::fputc('\n', stderr);
  va_end(arguments);
}

// A distinct non-null handle for each module, function, stream and event;
// nothing to free, so that leak checkers stay quiet.
template <typename Handle> Handle newHandle() {
  static std::atomic<uintptr_t> handles = 0;
  return reinterpret_cast<Handle>(++handles * 16);
}

// The kernel name of each function handle, for the launch traces. Never
// destroyed, like the call counts.
std::map<CUfunction, std::string> &functionNames() {
  static auto *names = new std::map<CUfunction, std::string>;
  return *names;
}

std::string functionName(CUfunction function) {
  std::lock_guard<std::mutex> lock(mutex);
  auto found = functionNames().find(function);
  return found == functionNames().end() ? "?" : found->second;
}

// A device allocation: the pages behind `deviceView` (which the host cannot
// touch) are also mapped at `hostView`, for the fake's copies and fills.
struct DeviceAllocation {
  char *hostView;
  size_t bytes;
};

// By device address. Never destroyed, like the call counts.
std::map<uintptr_t, DeviceAllocation> &deviceAllocations() {
  static auto *allocations = new std::map<uintptr_t, DeviceAllocation>;
  return *allocations;
}

size_t roundToPages(size_t bytes) {
  size_t page = size_t(sysconf(_SC_PAGESIZE));
  return (std::max<size_t>(bytes, 1) + page - 1) / page * page;
}

// Null when the pages cannot be had (reported as out of memory).
void *mapDeviceMemory(size_t bytes) {
  int file = memfd_create("moec-fake-cuda-device-memory", MFD_CLOEXEC);
  if (file < 0)
    return nullptr;
  size_t size = roundToPages(bytes);
  void *deviceView = MAP_FAILED, *hostView = MAP_FAILED;
  if (ftruncate(file, off_t(size)) == 0) {
    deviceView = mmap(nullptr, size, PROT_NONE, MAP_SHARED, file, 0);
    hostView = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
  }
  close(file);
  if (deviceView == MAP_FAILED || hostView == MAP_FAILED) {
    if (deviceView != MAP_FAILED)
      munmap(deviceView, size);
    if (hostView != MAP_FAILED)
      munmap(hostView, size);
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex);
  deviceAllocations()[reinterpret_cast<uintptr_t>(deviceView)] = {static_cast<char *>(hostView),
                                                                   size};
  return deviceView;
}

// Unmaps `pointer` if it is device memory; false if it is not.
bool unmapDeviceMemory(CUdeviceptr pointer) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = deviceAllocations().find(uintptr_t(pointer));
  if (it == deviceAllocations().end())
    return false;
  munmap(reinterpret_cast<void *>(pointer), it->second.bytes);
  munmap(it->second.hostView, it->second.bytes);
  deviceAllocations().erase(it);
  return true;
}

// Where the fake itself reads or writes the `bytes` at `pointer`: the
// read-write view for device memory, the address itself for host and managed
// memory (as the driver does with unified addressing).
void *accessible(CUdeviceptr pointer) {
  std::lock_guard<std::mutex> lock(mutex);
  auto &allocations = deviceAllocations();
  auto it = allocations.upper_bound(uintptr_t(pointer));
  if (it != allocations.begin()) {
    --it;
    if (uintptr_t(pointer) < it->first + it->second.bytes)
      return it->second.hostView + (uintptr_t(pointer) - it->first);
  }
  return reinterpret_cast<void *>(pointer);
}
// Stream capture: the operations recorded so far, and whether the capture went wrong.
// The fake has one capture at a time (the runtime uses one stream).
struct Capture {
  bool active = false;
  bool invalidated = false;
  std::vector<std::function<void()>> operations;
};
Capture &capture() {
  static auto *state = new Capture;
  return *state;
}

// Does `operation` now, or records it when the stream is being captured.
void onStream(std::function<void()> operation) {
  Capture &state = capture();
  if (state.active)
    state.operations.push_back(std::move(operation));
  else
    operation();
}

// A graph and an executable graph are both the recorded operations.
struct RecordedGraph {
  std::vector<std::function<void()>> operations;
};
} // namespace

#define FAKE_ENTRY(name, ...)                                                                      \
  extern "C" __attribute__((visibility("default"))) CUresult name(__VA_ARGS__)
#define COUNT_CALL(name)                                                                           \
  if (CUresult failure = enter(#name))                                                             \
  return failure

extern "C" __attribute__((visibility("default"))) long moec_fake_cuda_calls(const char *entry) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = callCounts().find(entry);
  return it == callCounts().end() ? 0 : it->second;
}

extern "C" __attribute__((visibility("default"))) void moec_fake_cuda_reset() {
  std::lock_guard<std::mutex> lock(mutex);
  callCounts().clear();
}

FAKE_ENTRY(cuInit, unsigned) {
  COUNT_CALL(cuInit);
  return 0;
}

FAKE_ENTRY(cuGetErrorName, CUresult error, const char **name) {
  switch (error) {
  case 0:
    *name = "CUDA_SUCCESS";
    return 0;
  case 1:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return 0;
  case 2:
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return 0;
  case 100:
    *name = "CUDA_ERROR_NO_DEVICE";
    return 0;
  case 218:
    *name = "CUDA_ERROR_INVALID_PTX";
    return 0;
  case 700:
    *name = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return 0;
  default:
    return 1;
  }
}

FAKE_ENTRY(cuDeviceGetCount, int *count) {
  COUNT_CALL(cuDeviceGetCount);
  const char *devices = std::getenv("MOEC_FAKE_CUDA_DEVICES");
  *count = devices ? std::atoi(devices) : 1;
  return 0;
}

FAKE_ENTRY(cuDeviceGet, CUdevice *device, int ordinal) {
  COUNT_CALL(cuDeviceGet);
  *device = ordinal;
  return 0;
}

FAKE_ENTRY(cuDeviceGetName, char *name, int length, CUdevice) {
  COUNT_CALL(cuDeviceGetName);
  std::snprintf(name, size_t(length), "Fake GPU");
  return 0;
}

FAKE_ENTRY(cuDevicePrimaryCtxRetain, CUcontext *context, CUdevice) {
  COUNT_CALL(cuDevicePrimaryCtxRetain);
  static CUcontext primary = newHandle<CUcontext>();
  *context = primary;
  return 0;
}

FAKE_ENTRY(cuCtxSetCurrent, CUcontext) {
  COUNT_CALL(cuCtxSetCurrent);
  return 0;
}

FAKE_ENTRY(cuModuleLoadData, CUmodule *module, const void *) {
  COUNT_CALL(cuModuleLoadData);
  trace("cuModuleLoadData");
  *module = newHandle<CUmodule>();
  return 0;
}

FAKE_ENTRY(cuModuleLoadDataEx, CUmodule *module, const void *, unsigned count, int *options,
           void **values) {
  CUresult failure = enter("cuModuleLoadDataEx");
  if (failure) {
    // Fill the error log, as the JIT does (option 5: the buffer, 6: its size).
    char *log = nullptr;
    size_t size = 0;
    for (unsigned i = 0; i < count; ++i) {
      if (options[i] == 5)
        log = static_cast<char *>(values[i]);
      if (options[i] == 6)
        size = reinterpret_cast<uintptr_t>(values[i]);
    }
    if (log && size)
      std::snprintf(log, size, "ptxas application ptx input, line 1; fatal\nfake JIT failure");
    return failure;
  }
  for (unsigned i = 0; i < count; ++i)
    if (options[i] == 7)
      trace("cuModuleLoadDataEx optimization level %d", int(reinterpret_cast<intptr_t>(values[i])));
  *module = newHandle<CUmodule>();
  return 0;
}

FAKE_ENTRY(cuModuleUnload, CUmodule) {
  COUNT_CALL(cuModuleUnload);
  return 0;
}

FAKE_ENTRY(cuModuleGetFunction, CUfunction *function, CUmodule, const char *name) {
  COUNT_CALL(cuModuleGetFunction);
  trace("cuModuleGetFunction %s", name);
  *function = newHandle<CUfunction>();
  std::lock_guard<std::mutex> lock(mutex);
  functionNames()[*function] = name;
  return 0;
}

FAKE_ENTRY(cuFuncSetAttribute, CUfunction, int, int) {
  COUNT_CALL(cuFuncSetAttribute);
  return 0;
}

FAKE_ENTRY(cuLaunchKernel, CUfunction function, unsigned gridX, unsigned gridY, unsigned gridZ,
           unsigned blockX, unsigned blockY, unsigned blockZ, unsigned sharedMemoryBytes, CUstream,
           void **, void **) {
  COUNT_CALL(cuLaunchKernel);
  trace("cuLaunchKernel %s grid %ux%ux%u block %ux%ux%u shared %u", functionName(function).c_str(),
        gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemoryBytes);
  return 0;
}

FAKE_ENTRY(cuLaunchKernelEx, const CUlaunchConfig *config, CUfunction function, void **, void **) {
  COUNT_CALL(cuLaunchKernelEx);
  trace("cuLaunchKernelEx %s grid %ux%ux%u block %ux%ux%u shared %u",
        functionName(function).c_str(), config->gridDimX, config->gridDimY, config->gridDimZ,
        config->blockDimX, config->blockDimY, config->blockDimZ, config->sharedMemBytes);
  return 0;
}

FAKE_ENTRY(cuStreamCreate, CUstream *stream, unsigned) {
  COUNT_CALL(cuStreamCreate);
  *stream = newHandle<CUstream>();
  return 0;
}

FAKE_ENTRY(cuStreamSynchronize, CUstream) {
  COUNT_CALL(cuStreamSynchronize);
  trace("cuStreamSynchronize");
  if (capture().active) {
    capture().invalidated = true;
    return 900; // CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED
  }
  return 0;
}

FAKE_ENTRY(cuStreamBeginCapture_v2, CUstream, int mode) {
  COUNT_CALL(cuStreamBeginCapture_v2);
  trace("cuStreamBeginCapture_v2 mode %d", mode);
  capture() = Capture();
  capture().active = true;
  return 0;
}

FAKE_ENTRY(cuStreamEndCapture, CUstream, CUgraph *graph) {
  // The capture ends also when the call fails, as on a GPU.
  Capture &state = capture();
  state.active = false;
  COUNT_CALL(cuStreamEndCapture);
  trace("cuStreamEndCapture with %zu copies and fills", state.operations.size());
  if (state.invalidated)
    return 901; // CUDA_ERROR_STREAM_CAPTURE_INVALIDATED
  *graph = reinterpret_cast<CUgraph>(new RecordedGraph{std::move(state.operations)});
  return 0;
}

FAKE_ENTRY(cuGraphInstantiateWithFlags, CUgraphExec *exec, CUgraph graph, unsigned long long) {
  COUNT_CALL(cuGraphInstantiateWithFlags);
  trace("cuGraphInstantiateWithFlags");
  *exec =
      reinterpret_cast<CUgraphExec>(new RecordedGraph(*reinterpret_cast<RecordedGraph *>(graph)));
  return 0;
}

FAKE_ENTRY(cuGraphLaunch, CUgraphExec exec, CUstream) {
  COUNT_CALL(cuGraphLaunch);
  trace("cuGraphLaunch");
  for (const std::function<void()> &operation : reinterpret_cast<RecordedGraph *>(exec)->operations)
    operation();
  return 0;
}

FAKE_ENTRY(cuGraphExecDestroy, CUgraphExec exec) {
  COUNT_CALL(cuGraphExecDestroy);
  delete reinterpret_cast<RecordedGraph *>(exec);
  return 0;
}

FAKE_ENTRY(cuGraphDestroy, CUgraph graph) {
  COUNT_CALL(cuGraphDestroy);
  delete reinterpret_cast<RecordedGraph *>(graph);
  return 0;
}

FAKE_ENTRY(cuMemHostAlloc, void **pointer, size_t bytes, unsigned) {
  COUNT_CALL(cuMemHostAlloc);
  *pointer = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  trace("cuMemHostAlloc %zu bytes", bytes);
  return 0;
}

FAKE_ENTRY(cuMemFreeHost, void *pointer) {
  COUNT_CALL(cuMemFreeHost);
  std::free(pointer);
  return 0;
}

FAKE_ENTRY(cuStreamWaitEvent, CUstream, CUevent, unsigned) {
  COUNT_CALL(cuStreamWaitEvent);
  return 0;
}

FAKE_ENTRY(cuEventCreate, CUevent *event, unsigned) {
  COUNT_CALL(cuEventCreate);
  *event = newHandle<CUevent>();
  return 0;
}

FAKE_ENTRY(cuEventDestroy_v2, CUevent) {
  COUNT_CALL(cuEventDestroy_v2);
  return 0;
}

FAKE_ENTRY(cuEventRecord, CUevent, CUstream) {
  COUNT_CALL(cuEventRecord);
  return 0;
}

FAKE_ENTRY(cuEventSynchronize, CUevent) {
  COUNT_CALL(cuEventSynchronize);
  return 0;
}

// Every timed interval takes a quarter of a millisecond.
FAKE_ENTRY(cuEventElapsedTime_v2, float *milliseconds, CUevent, CUevent) {
  COUNT_CALL(cuEventElapsedTime_v2);
  *milliseconds = 0.25f;
  return 0;
}

FAKE_ENTRY(cuMemGetInfo_v2, size_t *free, size_t *total) {
  COUNT_CALL(cuMemGetInfo_v2);
  *free = size_t(1) << 20;
  *total = size_t(80) << 30;
  return 0;
}

FAKE_ENTRY(cuMemAlloc_v2, CUdeviceptr *pointer, size_t bytes) {
  COUNT_CALL(cuMemAlloc_v2);
  void *memory = mapDeviceMemory(bytes);
  if (!memory)
    return 2; // CUDA_ERROR_OUT_OF_MEMORY
  *pointer = reinterpret_cast<CUdeviceptr>(memory);
  trace("cuMemAlloc_v2 %zu bytes", bytes);
  return 0;
}

FAKE_ENTRY(cuMemAllocManaged, CUdeviceptr *pointer, size_t bytes, unsigned) {
  COUNT_CALL(cuMemAllocManaged);
  *pointer = reinterpret_cast<CUdeviceptr>(std::aligned_alloc(256, (bytes + 255) / 256 * 256));
  trace("cuMemAllocManaged %zu bytes", bytes);
  return 0;
}

FAKE_ENTRY(cuMemFree_v2, CUdeviceptr pointer) {
  COUNT_CALL(cuMemFree_v2);
  if (!unmapDeviceMemory(pointer))
    std::free(reinterpret_cast<void *>(pointer));
  return 0;
}

FAKE_ENTRY(cuMemcpyAsync, CUdeviceptr destination, CUdeviceptr source, size_t bytes, CUstream) {
  COUNT_CALL(cuMemcpyAsync);
  onStream([=] { std::memcpy(accessible(destination), accessible(source), bytes); });
  return 0;
}

FAKE_ENTRY(cuMemsetD32Async, CUdeviceptr destination, unsigned value, size_t count, CUstream) {
  COUNT_CALL(cuMemsetD32Async);
  onStream([=] {
    auto *words = static_cast<uint32_t *>(accessible(destination));
    for (size_t i = 0; i < count; ++i)
      words[i] = value;
  });
  return 0;
}

FAKE_ENTRY(cuMemsetD16Async, CUdeviceptr destination, unsigned short value, size_t count,
           CUstream) {
  COUNT_CALL(cuMemsetD16Async);
  onStream([=] {
    auto *halves = static_cast<uint16_t *>(accessible(destination));
    for (size_t i = 0; i < count; ++i)
      halves[i] = value;
  });
  return 0;
}

// Fills the map with its arguments (distinct maps differ) and traces them,
// dimensions from the innermost as the driver counts them.
FAKE_ENTRY(cuTensorMapEncodeTiled, CUtensorMap *tensorMap, int dataType, unsigned rank,
           void *globalAddress, const uint64_t *globalDims, const uint64_t *globalStrides,
           const unsigned *boxDims, const unsigned *elementStrides, int interleave, int swizzle,
           int l2Promotion, int oobFill) {
  COUNT_CALL(cuTensorMapEncodeTiled);
  std::memset(tensorMap, 0, sizeof(*tensorMap));
  tensorMap->opaque[0] = reinterpret_cast<uintptr_t>(globalAddress);
  std::string dims, strides = "-", boxes, steps;
  for (unsigned i = 0; i < rank; ++i) {
    tensorMap->opaque[1 + i] = globalDims[i];
    tensorMap->opaque[6 + i] = boxDims[i];
    const char *separator = i ? "x" : "";
    dims += separator + std::to_string(globalDims[i]);
    boxes += separator + std::to_string(boxDims[i]);
    steps += separator + std::to_string(elementStrides[i]);
    if (i + 1 < rank)
      strides = (i ? strides + "x" : "") + std::to_string(globalStrides[i]);
  }
  trace("cuTensorMapEncodeTiled type %d dims %s strides %s box %s element strides %s interleave "
        "%d swizzle %d l2 promotion %d oob fill %d address %% 16 = %d",
        dataType, dims.c_str(), strides.c_str(), boxes.c_str(), steps.c_str(), interleave, swizzle,
        l2Promotion, oobFill, int(reinterpret_cast<uintptr_t>(globalAddress) % 16));
  return 0;
}
