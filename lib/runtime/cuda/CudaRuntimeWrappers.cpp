//===- CudaRuntimeWrappers.cpp - What compiled GPU code calls -------------===//
//
// The mgpu* functions that upstream MLIR's gpu-to-llvm conversion and the
// LLVM translation of gpu.binary emit calls to, with the signatures of
// mlir/lib/ExecutionEngine/CudaRuntimeWrappers.cpp (LLVM 22), over the driver
// API of CudaDriver.h; and moec_rt_gpu_constant. Unlike upstream's wrappers:
// - every driver error ends the process with one line (fatalError);
// - kernel modules load on first use, not in the global constructor that
//   calls mgpuModuleLoad, so that the executable starts without a driver;
// - one stream serves the whole process: mgpuStreamCreate returns it and
//   mgpuStreamDestroy keeps it, so everything compiled code queues is ordered;
// - device memory is pooled (DeviceMemoryPool.h);
// - while a run is captured into a CUDA graph, copies between host and GPU
//   go through page-locked staging and the final wait is skipped (the
//   capture part, at the end of this file).
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "CudaRuntime.h"
#include "DeviceMemoryPool.h"

#include "moec-runtime/kernels.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

using namespace moec::rt;
using namespace moec::rt::cuda;

namespace {
// Launches with more dynamic shared memory than this need the kernel's limit
// raised first.
constexpr int32_t kDefaultSharedMemoryLimit = 48 * 1024;

// "123 bytes", or "17179869184 bytes (16.0 GiB)".
std::string formatBytes(uint64_t bytes) {
  std::string text = std::to_string(bytes) + " bytes";
  const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
  double scaled = double(bytes);
  int unit = -1;
  while (scaled >= 1024 && unit < 3) {
    scaled /= 1024;
    ++unit;
  }
  if (unit >= 0) {
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), " (%.1f %s)", scaled, units[unit]);
    text += suffix;
  }
  return text;
}

// Returns null when the device is out of memory; any other error is fatal.
void *allocateFromDriver(uint64_t bytes, bool managed) {
  const Device &gpu = device();
  CUdeviceptr pointer = 0;
  CUresult result = managed ? gpu.api->cuMemAllocManaged(&pointer, bytes, CU_MEM_ATTACH_GLOBAL)
                            : gpu.api->cuMemAlloc(&pointer, bytes);
  if (result == CUDA_ERROR_OUT_OF_MEMORY)
    return nullptr;
  check(result, managed ? "cuMemAllocManaged" : "cuMemAlloc");
  return reinterpret_cast<void *>(pointer);
}

void releaseToDriver(void *block, bool) {
  MOEC_CU(cuMemFree, reinterpret_cast<CUdeviceptr>(block));
}

DeviceMemoryPool &pool() {
  // Never destroyed: blocks may be freed from global destructors.
  static auto *memoryPool = new DeviceMemoryPool({allocateFromDriver, releaseToDriver});
  return *memoryPool;
}

// The device copies of constants (moec_rt_gpu_constant), by host address and size, and
// the device ranges they occupy.
struct ConstantCopies {
  std::mutex mutex;
  std::map<std::pair<const void *, int64_t>, void *> byHost;
  std::map<uintptr_t, uint64_t> deviceRanges;
  // Made while capturing: the upload was recorded, not run, so they are dropped if the
  // capture is (docs/runtime-abi.md).
  std::vector<std::pair<const void *, int64_t>> madeWhileCapturing;

  bool contains(const void *pointer) {
    auto address = reinterpret_cast<uintptr_t>(pointer);
    std::lock_guard<std::mutex> lock(mutex);
    auto it = deviceRanges.upper_bound(address);
    if (it == deviceRanges.begin())
      return false;
    --it;
    return address < it->first + it->second;
  }
};

ConstantCopies &constantCopies() {
  // Never destroyed, like the pool.
  static auto *copies = new ConstantCopies;
  return *copies;
}

// What the capture under way (if any) has seen. Runs are serialized (the executable runs
// one at a time; the C API holds a lock), so one capture at a time.
struct CaptureState {
  std::vector<HostStage> stages;
  // The first reason the capture is not sound, or "".
  std::string problem;
  int synchronizations = 0;

  void noteProblem(const std::string &reason) {
    if (problem.empty())
      problem = reason;
  }
  // The page-locked stand-in for `bytes` of host memory at `host` in a captured copy; a
  // copy to the GPU takes its contents now (that is what the recorded copy reads on every
  // replay unless the runtime refills it). `host` itself when staging cannot be had.
  void *stage(void *host, size_t bytes, bool toDevice) {
    void *staging = nullptr;
    if (CUresult result = device().api->cuMemHostAlloc(&staging, bytes, 0);
        result != CUDA_SUCCESS) {
      noteProblem("cuMemHostAlloc of staging failed: " + errorName(result));
      return host;
    }
    if (toDevice)
      std::memcpy(staging, host, bytes);
    stages.push_back({host, staging, bytes, toDevice});
    return staging;
  }
};
CaptureState *activeCapture = nullptr;

// Device memory the runtime handed out: pooled buffers and constants' copies. Anything
// else a copy names is host memory (compiled code has no managed buffer when it may be
// captured).
bool isGpuMemory(const void *pointer) {
  return pool().contains(pointer) || constantCopies().contains(pointer);
}

[[noreturn]] void outOfMemory(const char *call, uint64_t bytes) {
  const Device &gpu = device();
  size_t free = 0, total = 0;
  std::string memory = "cuMemGetInfo failed";
  if (gpu.api->cuMemGetInfo(&free, &total) == CUDA_SUCCESS)
    memory = formatBytes(free) + " free of " + formatBytes(total);
  fatalError("out of GPU memory on " + gpu.name + ": " + call + " of " + formatBytes(bytes) +
             " failed (CUDA_ERROR_OUT_OF_MEMORY); " + memory + ", " +
             formatBytes(pool().bytesInUse()) + " in the program's pooled buffers");
}

// `allocate` again after the pool's cached blocks went back to the driver;
// out of memory if that fails too.
template <typename Allocate>
void *allocateOrReport(const char *call, uint64_t bytes, Allocate allocate) {
  if (void *block = allocate())
    return block;
  synchronize();
  pool().trim();
  if (void *block = allocate())
    return block;
  outOfMemory(call, bytes);
}

// A module of compiled kernels as compiled code registers it at startup: the
// image is loaded into the driver when a kernel is first asked for.
struct LazyModule {
  LazyModule(const void *image, bool isPtx, int optimizationLevel)
      : image(image), isPtx(isPtx), optimizationLevel(optimizationLevel) {}

  const void *image;
  // PTX to compile at `optimizationLevel`, else cubin/fatbin.
  bool isPtx;
  int optimizationLevel;

  std::mutex mutex;
  CUmodule module = nullptr;
  std::unordered_map<const char *, CUfunction> functions;

  CUmodule loaded();
};

CUmodule LazyModule::loaded() {
  if (module)
    return module;
  const Device &gpu = device();
  std::string context =
      "loading the kernels (compiled for " + targetName() + ") on " + gpu.name + ": ";
  if (!isPtx) {
    if (CUresult result = gpu.api->cuModuleLoadData(&module, image); result != CUDA_SUCCESS)
      fatalError(context + "cuModuleLoadData failed: " + errorName(result));
    return module;
  }
  char log[4096] = {};
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log) - 1),
                    reinterpret_cast<void *>(intptr_t(optimizationLevel))};
  if (CUresult result = gpu.api->cuModuleLoadDataEx(&module, image, 3, options, values);
      result != CUDA_SUCCESS) {
    std::string message = context + "cuModuleLoadDataEx failed: " + errorName(result);
    std::string details(log);
    for (char &c : details)
      if (c == '\n')
        c = ' ';
    if (!details.empty())
      message += ": " + details;
    fatalError(message);
  }
  return module;
}

CUfunction toFunction(void *function) { return static_cast<CUfunction>(function); }
// Every stream argument is the process's stream (mgpuStreamCreate hands out
// no other), also a null one that would name the legacy default stream, so
// that all work stays ordered.
CUstream processStream(void * /*stream*/) { return device().stream; }
CUevent toEvent(void *event) { return static_cast<CUevent>(event); }
CUdeviceptr toDevicePointer(const void *pointer) { return reinterpret_cast<CUdeviceptr>(pointer); }

/// Whether a grid has no blocks, as when a dimension comes from an input with no tokens:
/// such a kernel has nothing to do, and cuLaunchKernel rejects the launch
/// (CUDA_ERROR_INVALID_VALUE), so the launch is skipped.
bool isEmptyGrid(intptr_t gridX, intptr_t gridY, intptr_t gridZ) {
  return gridX == 0 || gridY == 0 || gridZ == 0;
}

void raiseSharedMemoryLimit(CUfunction function, int32_t sharedMemoryBytes) {
  if (sharedMemoryBytes > kDefaultSharedMemoryLimit)
    MOEC_CU(cuFuncSetAttribute, function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
            sharedMemoryBytes);
}
} // namespace

extern "C" {

void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  return new LazyModule(data, /*isPtx=*/false, /*optimizationLevel=*/0);
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  return new LazyModule(data, /*isPtx=*/true, optLevel);
}

void mgpuModuleUnload(void *module) {
  auto *lazy = static_cast<LazyModule *>(module);
  // Called from a global destructor: the driver may have shut down already,
  // and then it has freed the module itself.
  if (lazy->module) {
    CUresult result = device().api->cuModuleUnload(lazy->module);
    if (result != CUDA_ERROR_DEINITIALIZED)
      check(result, "cuModuleUnload");
  }
  delete lazy;
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  auto *lazy = static_cast<LazyModule *>(module);
  std::lock_guard<std::mutex> lock(lazy->mutex);
  CUfunction &function = lazy->functions[name];
  if (!function) {
    CUresult result = device().api->cuModuleGetFunction(&function, lazy->loaded(), name);
    if (result != CUDA_SUCCESS)
      fatalError("cuModuleGetFunction of kernel '" + std::string(name) +
                 "' failed: " + errorName(result));
  }
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                      intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  if (isEmptyGrid(gridX, gridY, gridZ))
    return;
  raiseSharedMemoryLimit(toFunction(function), smem);
  MOEC_CU(cuLaunchKernel, toFunction(function), unsigned(gridX), unsigned(gridY), unsigned(gridZ),
          unsigned(blockX), unsigned(blockY), unsigned(blockZ), unsigned(smem),
          processStream(stream), params, extra);
}

void mgpuLaunchClusterKernel(void *function, intptr_t clusterX, intptr_t clusterY,
                             intptr_t clusterZ, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
                             void *stream, void **params, void **extra) {
  if (isEmptyGrid(gridX, gridY, gridZ))
    return;
  const Device &gpu = device();
  if (!gpu.api->cuLaunchKernelEx)
    fatalError("a kernel launch with thread-block clusters needs cuLaunchKernelEx, which the "
               "NVIDIA driver lacks (a driver for CUDA 12 or newer is needed)");
  raiseSharedMemoryLimit(toFunction(function), smem);
  CUlaunchAttribute cluster = {};
  cluster.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  cluster.value.clusterDim = {unsigned(clusterX), unsigned(clusterY), unsigned(clusterZ)};
  CUlaunchConfig config = {
      unsigned(gridX),  unsigned(gridY), unsigned(gridZ),       unsigned(blockX), unsigned(blockY),
      unsigned(blockZ), unsigned(smem),  processStream(stream), &cluster,         1};
  MOEC_CU(cuLaunchKernelEx, &config, toFunction(function), params, extra);
}

void *mgpuStreamCreate() { return device().stream; }

void mgpuStreamDestroy(void * /*stream*/) {}

void mgpuStreamSynchronize(void * /*stream*/) { synchronize(); }

void mgpuStreamWaitEvent(void *stream, void *event) {
  MOEC_CU(cuStreamWaitEvent, processStream(stream), toEvent(event), 0);
}

void *mgpuEventCreate() {
  CUevent event = nullptr;
  MOEC_CU(cuEventCreate, &event, CU_EVENT_DISABLE_TIMING);
  return event;
}

void mgpuEventDestroy(void *event) { MOEC_CU(cuEventDestroy, toEvent(event)); }

void mgpuEventSynchronize(void *event) { MOEC_CU(cuEventSynchronize, toEvent(event)); }

void mgpuEventRecord(void *event, void *stream) {
  MOEC_CU(cuEventRecord, toEvent(event), processStream(stream));
}

void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/, bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr;
  return allocateOrReport(isHostShared ? "cuMemAllocManaged" : "cuMemAlloc", sizeBytes,
                          [&] { return pool().allocate(sizeBytes, isHostShared); });
}

void mgpuMemFree(void *ptr, void * /*stream*/) {
  if (!pool().release(ptr))
    fatalError("mgpuMemFree of an address that mgpuMemAlloc did not return");
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  // An input or result with no elements (no tokens) has no buffer: mgpuMemAlloc returned
  // null for it.
  if (sizeBytes == 0)
    return;
  // A captured copy runs at every replay, long after the host memory it names was freed
  // or reused: it reads and writes staging instead.
  if (activeCapture) {
    if (!isGpuMemory(dst))
      dst = activeCapture->stage(dst, sizeBytes, /*toDevice=*/false);
    if (!isGpuMemory(src))
      src = activeCapture->stage(src, sizeBytes, /*toDevice=*/true);
  }
  MOEC_CU(cuMemcpyAsync, toDevicePointer(dst), toDevicePointer(src), sizeBytes,
          processStream(stream));
}

void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream) {
  MOEC_CU(cuMemsetD32Async, toDevicePointer(dst), value, count, processStream(stream));
}

void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream) {
  MOEC_CU(cuMemsetD16Async, toDevicePointer(dst), value, count, processStream(stream));
}

void mgpuSetDefaultDevice(int32_t device) {
  if (device != 0)
    fatalError("only CUDA device 0 is supported; compiled code asked for device " +
               std::to_string(device));
}

void *moec_rt_gpu_constant(const void *host, int64_t bytes) {
  if (bytes <= 0)
    return nullptr;
  ConstantCopies &copies = constantCopies();
  std::unique_lock<std::mutex> lock(copies.mutex);
  void *&copy = copies.byHost[{host, bytes}];
  if (copy)
    return copy;
  // Device memory for the life of the process, outside the pool (never freed); only GPU
  // work reads it (host code reads the constant itself). The copy is queued on the
  // process's stream, so every launch queued after it sees the weights.
  copy = allocateOrReport("cuMemAlloc", uint64_t(bytes),
                          [&] { return allocateFromDriver(uint64_t(bytes), /*managed=*/false); });
  copies.deviceRanges[reinterpret_cast<uintptr_t>(copy)] = uint64_t(bytes);
  if (activeCapture) {
    copies.madeWhileCapturing.push_back({host, bytes});
    activeCapture->noteProblem("weights were uploaded while capturing (the run before it "
                               "did not upload them)");
  }
  MOEC_CU(cuMemcpyAsync, toDevicePointer(copy), toDevicePointer(host), size_t(bytes),
          device().stream);
  return copy;
}

void mgpuTensorMapEncodeTiled(void *tensorMap, int dataType, uint32_t rank, void *globalAddress,
                              const uint64_t *globalDims, const uint64_t *globalStrides,
                              const uint32_t *boxDims, const uint32_t *elementStrides,
                              int interleave, int swizzle, int l2Promotion, int oobFill) {
  const DriverApi &api = *device().api;
  if (!api.cuTensorMapEncodeTiled)
    fatalError("the NVIDIA driver lacks cuTensorMapEncodeTiled, which the " + targetName() +
               " kernels' TMA loads need (a driver for CUDA 12 or newer)");
  MOEC_CU(cuTensorMapEncodeTiled, static_cast<CUtensorMap *>(tensorMap), dataType, rank,
          globalAddress, globalDims, globalStrides, boxDims, elementStrides, interleave, swizzle,
          l2Promotion, oobFill);
}

// What the NVGPU lowering of nvgpu.tma.create.descriptor calls: a tensor map of
// the buffer of the ranked memref descriptor `memref` (allocated, aligned,
// offset, sizes[rank], strides[rank]) with boxes of `boxDims` (outermost
// first, as the memref's dimensions), in device memory, where the kernels read
// it. Unlike upstream's, the map is of the memref's first element (its offset
// included), and equal maps share one device copy, made once per process: a
// model encodes its maps on every run.
void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *memref, int64_t dataType,
                                     int64_t interleave, int64_t swizzle, int64_t l2Promotion,
                                     int64_t oobFill, int64_t *boxDims) {
  // Bytes of an element of each CUtensorMapDataType (UINT8 ... TFLOAT32_FTZ).
  static constexpr int64_t kElementBytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  constexpr int64_t kMaxRank = 5;
  if (rank < 1 || rank > kMaxRank || dataType < 0 || dataType >= int64_t(std::size(kElementBytes)))
    fatalError("mgpuTensorMapEncodeTiledMemref: unsupported rank " + std::to_string(rank) +
               " or data type " + std::to_string(dataType));
  struct Descriptor {
    char *allocated, *aligned;
    int64_t offset; // then sizes[rank], strides[rank]
  };
  auto *descriptor = static_cast<const Descriptor *>(memref);
  const int64_t *sizes = &descriptor->offset + 1, *strides = sizes + rank;
  int64_t elementBytes = kElementBytes[dataType];
  if (strides[rank - 1] != 1)
    fatalError("mgpuTensorMapEncodeTiledMemref: the innermost dimension is strided");
  // The driver counts dimensions from the innermost, and strides in bytes from
  // the second.
  uint64_t globalDims[kMaxRank], globalStrides[kMaxRank];
  uint32_t boxes[kMaxRank], elementStrides[kMaxRank];
  for (int64_t i = 0; i < rank; ++i) {
    globalDims[i] = uint64_t(sizes[rank - 1 - i]);
    globalStrides[i] = uint64_t(strides[rank - 1 - i] * elementBytes);
    boxes[i] = uint32_t(boxDims[rank - 1 - i]);
    elementStrides[i] = 1;
  }
  CUtensorMap tensorMap;
  mgpuTensorMapEncodeTiled(&tensorMap, int(dataType), uint32_t(rank),
                           descriptor->aligned + descriptor->offset * elementBytes, globalDims,
                           globalStrides + 1, boxes, elementStrides, int(interleave), int(swizzle),
                           int(l2Promotion), int(oobFill));

  static std::mutex mutex;
  // Never destroyed, like the pool. The keys are the host copies the device
  // copies are made from.
  static auto *copies = new std::map<std::array<unsigned long long, 16>, void *>;
  std::array<unsigned long long, 16> key;
  std::memcpy(key.data(), tensorMap.opaque, sizeof(tensorMap.opaque));
  std::lock_guard<std::mutex> lock(mutex);
  auto [entry, added] = copies->try_emplace(key, nullptr);
  if (added) {
    CUdeviceptr copy = 0;
    MOEC_CU(cuMemAlloc, &copy, sizeof(CUtensorMap));
    // On the stream, so that it lands before the launches that read it.
    MOEC_CU(cuMemcpyAsync, copy, toDevicePointer(entry->first.data()), sizeof(CUtensorMap),
            device().stream);
    entry->second = reinterpret_cast<void *>(copy);
  }
  return entry->second;
}

} // extern "C"

namespace moec::rt::cuda {

void synchronize() {
  // Nothing runs while capturing; a replayable run waits once, before it returns.
  if (activeCapture) {
    if (++activeCapture->synchronizations > 1)
      activeCapture->noteProblem("the run waited for the GPU before its end");
    return;
  }
  MOEC_CU(cuStreamSynchronize, device().stream);
  pool().streamSynchronized();
}

double timeOnStream(const std::function<void()> &run) {
  CUstream stream = device().stream;
  CUevent start = nullptr, end = nullptr;
  MOEC_CU(cuEventCreate, &start, CU_EVENT_DEFAULT);
  MOEC_CU(cuEventCreate, &end, CU_EVENT_DEFAULT);
  MOEC_CU(cuEventRecord, start, stream);
  run();
  MOEC_CU(cuEventRecord, end, stream);
  MOEC_CU(cuEventSynchronize, end);
  float milliseconds = 0;
  MOEC_CU(cuEventElapsedTime, &milliseconds, start, end);
  MOEC_CU(cuEventDestroy, start);
  MOEC_CU(cuEventDestroy, end);
  return milliseconds;
}

} // namespace moec::rt::cuda

//===----------------------------------------------------------------------===//
// CUDA graphs
//===----------------------------------------------------------------------===//

namespace moec::rt::cuda {

struct Graph::Parts {
  CUgraphExec exec = nullptr;
  DeviceMemoryPool::Reservation reservation;
};

Graph::Graph(std::unique_ptr<Parts> parts) : parts(std::move(parts)) {}

Graph::~Graph() {
  const DriverApi &api = *device().api;
  if (parts->exec) {
    CUresult result = api.cuGraphExecDestroy(parts->exec);
    if (result != CUDA_ERROR_DEINITIALIZED)
      check(result, "cuGraphExecDestroy");
  }
  for (const HostStage &stage : hostStages) {
    CUresult result = api.cuMemFreeHost(stage.staging);
    if (result != CUDA_ERROR_DEINITIALIZED)
      check(result, "cuMemFreeHost");
  }
  pool().endReservation(parts->reservation);
}

void Graph::launch() { MOEC_CU(cuGraphLaunch, parts->exec, device().stream); }

std::string graphsUnavailable() {
  if (!device().api->hasGraphs())
    return "the NVIDIA driver lacks the CUDA graph entry points";
  return "";
}

std::string beginCapture() {
  if (std::string why = graphsUnavailable(); !why.empty())
    return why;
  pool().startReserving();
  const Device &gpu = device();
  if (CUresult result = gpu.api->cuStreamBeginCapture(gpu.stream, CU_STREAM_CAPTURE_MODE_RELAXED);
      result != CUDA_SUCCESS) {
    pool().endReservation(pool().stopReserving());
    return "cuStreamBeginCapture failed: " + errorName(result);
  }
  activeCapture = new CaptureState;
  return "";
}

std::unique_ptr<Graph> endCapture(std::string &why) {
  std::unique_ptr<CaptureState> capture(activeCapture);
  activeCapture = nullptr;
  const Device &gpu = device();
  CUgraph recorded = nullptr;
  CUresult ended = gpu.api->cuStreamEndCapture(gpu.stream, &recorded);
  auto parts = std::make_unique<Graph::Parts>();
  parts->reservation = pool().stopReserving();
  const DeviceMemoryPool::Reservation &reservation = parts->reservation;
  // Owns the staging and the reserved blocks from here on, also when the capture fails.
  std::unique_ptr<Graph> graph(new Graph(std::move(parts)));
  graph->hostStages = std::move(capture->stages);

  why.clear();
  if (ended != CUDA_SUCCESS)
    why = "cuStreamEndCapture failed: " + errorName(ended);
  else if (!capture->problem.empty())
    why = capture->problem;
  else if (reservation.fromSource)
    why = std::to_string(reservation.fromSource) +
          " GPU buffers were allocated from the driver while capturing (the run before it "
          "did not leave them in the pool)";
  else if (reservation.stillInUse)
    why = std::to_string(reservation.stillInUse) + " GPU buffers outlived the captured run";
  if (why.empty())
    if (CUresult result = gpu.api->cuGraphInstantiateWithFlags(&graph->parts->exec, recorded, 0);
        result != CUDA_SUCCESS)
      why = "cuGraphInstantiateWithFlags failed: " + errorName(result);
  if (recorded)
    MOEC_CU(cuGraphDestroy, recorded);

  ConstantCopies &copies = constantCopies();
  std::lock_guard<std::mutex> lock(copies.mutex);
  if (!why.empty()) {
    // Their uploads were recorded, never run: the next run makes them again.
    for (const auto &key : copies.madeWhileCapturing) {
      void *copy = copies.byHost[key];
      copies.byHost.erase(key);
      copies.deviceRanges.erase(reinterpret_cast<uintptr_t>(copy));
      releaseToDriver(copy, /*managed=*/false);
    }
    graph.reset();
  }
  copies.madeWhileCapturing.clear();
  return graph;
}

} // namespace moec::rt::cuda
