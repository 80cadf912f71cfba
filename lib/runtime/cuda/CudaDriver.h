//===- CudaDriver.h - The CUDA driver API, opened at run time ---*- C++ -*-===//
//
// The few driver entry points the GPU runtime uses, looked up with dlsym in
// libcuda.so.1 (or $MOEC_CUDA_DRIVER) on first use, so that executables link
// no CUDA library and start (--info, usage errors) where there is no driver.
// The types are declared here from the driver's stable C ABI: cuda.h is not
// needed to build the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_CUDADRIVER_H
#define MOEC_LIB_RUNTIME_CUDADRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>

// The driver's handle and structure types, at global scope and with cuda.h's
// tags, so that the entry points' C++ types are cuda.h's too
// (-fsanitize=function compares them with the callee's).
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;

struct CUlaunchAttribute_st {
  int id;
  char pad[8 - sizeof(int)];
  union {
    char bytes[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};

// cuda.h's CUtensorMap: 128 opaque bytes that cuTensorMapEncodeTiled fills.
struct CUtensorMap_st {
  alignas(64) unsigned long long opaque[16];
};

struct CUlaunchConfig_st {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream_st *hStream;
  CUlaunchAttribute_st *attrs;
  unsigned numAttrs;
};

namespace moec::rt::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = CUctx_st *;
using CUmodule = CUmod_st *;
using CUfunction = CUfunc_st *;
using CUstream = CUstream_st *;
using CUevent = CUevent_st *;
using CUgraph = CUgraph_st *;
using CUgraphExec = CUgraphExec_st *;

// Values of the driver's enumerations that the runtime passes or tests.
enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_DEINITIALIZED = 4,
  CUDA_ERROR_STUB_LIBRARY = 34,
  CUDA_ERROR_NO_DEVICE = 100,
};
enum : unsigned { CU_STREAM_NON_BLOCKING = 1 };
enum : unsigned { CU_EVENT_DEFAULT = 0, CU_EVENT_DISABLE_TIMING = 2 };
enum : unsigned { CU_MEM_ATTACH_GLOBAL = 1 };
// CUstreamCaptureMode: relaxed lets the capturing thread allocate (page-locked staging).
enum : int { CU_STREAM_CAPTURE_MODE_RELAXED = 2 };
enum : int {
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
  CU_JIT_OPTIMIZATION_LEVEL = 7,
};
enum : int { CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8 };
enum : int { CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4 };

using CUlaunchAttribute = ::CUlaunchAttribute_st;
using CUlaunchConfig = ::CUlaunchConfig_st;
using CUtensorMap = ::CUtensorMap_st;

// The entry points, named as in cuda.h; each is looked up under the symbol
// that cuda.h maps the name to (cuMemAlloc is cuMemAlloc_v2, ...). Entries
// marked optional are null when the driver lacks them; they only tune
// performance or serve features that need a newer driver.
struct DriverApi {
  CUresult (*cuInit)(unsigned flags);
  CUresult (*cuGetErrorName)(CUresult error, const char **name);
  CUresult (*cuDeviceGetCount)(int *count);
  CUresult (*cuDeviceGet)(CUdevice *device, int ordinal);
  CUresult (*cuDeviceGetName)(char *name, int length, CUdevice device);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
  CUresult (*cuCtxSetCurrent)(CUcontext context);
  CUresult (*cuModuleLoadData)(CUmodule *module, const void *image);
  CUresult (*cuModuleLoadDataEx)(CUmodule *module, const void *image, unsigned numOptions,
                                 int *options, void **optionValues);
  CUresult (*cuModuleUnload)(CUmodule module);
  CUresult (*cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
  CUresult (*cuFuncSetAttribute)(CUfunction function, int attribute, int value);
  CUresult (*cuLaunchKernel)(CUfunction function, unsigned gridX, unsigned gridY, unsigned gridZ,
                             unsigned blockX, unsigned blockY, unsigned blockZ,
                             unsigned sharedMemBytes, CUstream stream, void **params, void **extra);
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *config, CUfunction function, void **params,
                               void **extra); // optional (CUDA 12)
  CUresult (*cuStreamCreate)(CUstream *stream, unsigned flags);
  CUresult (*cuStreamSynchronize)(CUstream stream);
  CUresult (*cuStreamWaitEvent)(CUstream stream, CUevent event, unsigned flags);
  CUresult (*cuEventCreate)(CUevent *event, unsigned flags);
  CUresult (*cuEventDestroy)(CUevent event);
  CUresult (*cuEventRecord)(CUevent event, CUstream stream);
  CUresult (*cuEventSynchronize)(CUevent event);
  CUresult (*cuEventElapsedTime)(float *milliseconds, CUevent start, CUevent end);
  CUresult (*cuMemGetInfo)(size_t *free, size_t *total);
  CUresult (*cuMemAlloc)(CUdeviceptr *pointer, size_t bytes);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *pointer, size_t bytes, unsigned flags);
  CUresult (*cuMemFree)(CUdeviceptr pointer);
  CUresult (*cuMemcpyAsync)(CUdeviceptr destination, CUdeviceptr source, size_t bytes,
                            CUstream stream);
  CUresult (*cuMemsetD32Async)(CUdeviceptr destination, unsigned value, size_t count,
                               CUstream stream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr destination, unsigned short value, size_t count,
                               CUstream stream);
  // The TMA tensor maps of sm_90a kernels. The enumerations (data type,
  // interleave, swizzle, L2 promotion, out-of-bounds fill) are int-sized.
  CUresult (*cuTensorMapEncodeTiled)(CUtensorMap *tensorMap, int dataType, unsigned rank,
                                     void *globalAddress, const uint64_t *globalDims,
                                     const uint64_t *globalStrides, const unsigned *boxDims,
                                     const unsigned *elementStrides, int interleave, int swizzle,
                                     int l2Promotion, int oobFill); // optional (CUDA 12)
  // CUDA graphs of repeated runs (CudaGraphs.cpp): all optional; without any of them runs
  // are plain.
  CUresult (*cuStreamBeginCapture)(CUstream stream, int mode);
  CUresult (*cuStreamEndCapture)(CUstream stream, CUgraph *graph);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *exec, CUgraph graph,
                                          unsigned long long flags);
  CUresult (*cuGraphLaunch)(CUgraphExec exec, CUstream stream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec exec);
  CUresult (*cuGraphDestroy)(CUgraph graph);
  CUresult (*cuMemHostAlloc)(void **pointer, size_t bytes, unsigned flags);
  CUresult (*cuMemFreeHost)(void *pointer);

  // Whether every entry point of CUDA graphs is there.
  bool hasGraphs() const {
    return cuStreamBeginCapture && cuStreamEndCapture && cuGraphInstantiateWithFlags &&
           cuGraphLaunch && cuGraphExecDestroy && cuGraphDestroy && cuMemHostAlloc && cuMemFreeHost;
  }
};

// The driver, initialized: loaded, cuInit done, device 0's primary context
// retained and current on the calling thread, the process's stream created.
// The first call does the work; a failure is fatal (see fatalError).
struct Device {
  const DriverApi *api;
  CUdevice device;
  CUcontext context;
  CUstream stream;
  std::string name;
};
const Device &device();

// Initializes the driver as device() does, but returns the one-line reason
// instead of dying: "" on success. Later calls return the first outcome.
std::string initialize();

// The `target` of the model's info (sm_90a, ...), named by the message for a
// missing driver. The runtime sets it when it loads the model info.
void setTargetName(const std::string &target);
const std::string &targetName();

// The driver's name of `result` (CUDA_ERROR_OUT_OF_MEMORY); also without a
// working cuGetErrorName (the stub library has none).
std::string errorName(CUresult result);

// Reports `message` (one line, no "error:" prefix) and ends the process with
// exit code 2: the GPU runtime's calls come from compiled code, which has no
// way to handle an error. The executable's main() installs a handler that
// prefixes the program's name; the default prints "error: <message>".
[[noreturn]] void fatalError(const std::string &message);
using FatalErrorHandler = void (*)(const std::string &message);
void setFatalErrorHandler(FatalErrorHandler handler);

// Fails with "<call> failed: <error name>" unless `result` is CUDA_SUCCESS.
void check(CUresult result, const char *call);

} // namespace moec::rt::cuda

// Calls the driver's entry point `name` and checks its result.
#define MOEC_CU(name, ...)                                                                         \
  ::moec::rt::cuda::check(::moec::rt::cuda::device().api->name(__VA_ARGS__), #name)

#endif // MOEC_LIB_RUNTIME_CUDADRIVER_H
