//===- CudaDriver.cpp - The CUDA driver API, opened at run time -----------===//

#include "CudaDriver.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <type_traits>

using namespace moec::rt::cuda;

namespace {
constexpr int kExitUserError = 2;
constexpr const char *kDefaultDriver = "libcuda.so.1";

std::string &mutableTargetName() {
  static std::string *name = new std::string("a GPU");
  return *name;
}

void printError(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
}
FatalErrorHandler fatalErrorHandler = printError;

// Set once the driver's entry points are looked up, for errorName: loading
// the driver names its own errors.
std::atomic<CUresult (*)(CUresult, const char **)> getErrorName = nullptr;

// Names of the results the runtime meets when cuGetErrorName cannot help:
// the stub library answers every call, that one included, with
// CUDA_ERROR_STUB_LIBRARY.
const char *knownErrorName(CUresult result) {
  switch (result) {
  case CUDA_SUCCESS:
    return "CUDA_SUCCESS";
  case CUDA_ERROR_OUT_OF_MEMORY:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case CUDA_ERROR_STUB_LIBRARY:
    return "CUDA_ERROR_STUB_LIBRARY";
  case CUDA_ERROR_NO_DEVICE:
    return "CUDA_ERROR_NO_DEVICE";
  default:
    return nullptr;
  }
}

// The driver as loaded, or why it could not be. Never destroyed: compiled
// code unloads its module from a global destructor, after function-local
// statics are gone.
struct LoadedDriver {
  DriverApi api = {};
  Device device = {};
  std::string error;
};

std::string driverPath() {
  const char *path = std::getenv("MOEC_CUDA_DRIVER");
  return path && *path ? path : kDefaultDriver;
}

// Looks up every entry point; returns the first missing required one's
// message.
std::string lookUpEntryPoints(void *library, const std::string &path, DriverApi &api) {
  std::string missing;
  auto lookUp = [&](auto &entry, const char *symbol, bool optional = false) {
    entry = reinterpret_cast<std::remove_reference_t<decltype(entry)>>(dlsym(library, symbol));
    if (!entry && !optional && missing.empty())
      missing = "the NVIDIA driver '" + path + "' lacks " + symbol +
                " (a driver for CUDA 12 or newer is needed)";
  };
  lookUp(api.cuInit, "cuInit");
  lookUp(api.cuGetErrorName, "cuGetErrorName");
  lookUp(api.cuDeviceGetCount, "cuDeviceGetCount");
  lookUp(api.cuDeviceGet, "cuDeviceGet");
  lookUp(api.cuDeviceGetName, "cuDeviceGetName");
  lookUp(api.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  lookUp(api.cuCtxSetCurrent, "cuCtxSetCurrent");
  lookUp(api.cuModuleLoadData, "cuModuleLoadData");
  lookUp(api.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  lookUp(api.cuModuleUnload, "cuModuleUnload");
  lookUp(api.cuModuleGetFunction, "cuModuleGetFunction");
  lookUp(api.cuFuncSetAttribute, "cuFuncSetAttribute");
  lookUp(api.cuLaunchKernel, "cuLaunchKernel");
  lookUp(api.cuLaunchKernelEx, "cuLaunchKernelEx", /*optional=*/true);
  lookUp(api.cuStreamCreate, "cuStreamCreate");
  lookUp(api.cuStreamSynchronize, "cuStreamSynchronize");
  lookUp(api.cuStreamWaitEvent, "cuStreamWaitEvent");
  lookUp(api.cuEventCreate, "cuEventCreate");
  lookUp(api.cuEventDestroy, "cuEventDestroy_v2");
  lookUp(api.cuEventRecord, "cuEventRecord");
  lookUp(api.cuEventSynchronize, "cuEventSynchronize");
  lookUp(api.cuEventElapsedTime, "cuEventElapsedTime_v2", /*optional=*/true);
  if (!api.cuEventElapsedTime)
    lookUp(api.cuEventElapsedTime, "cuEventElapsedTime");
  lookUp(api.cuMemGetInfo, "cuMemGetInfo_v2");
  lookUp(api.cuMemAlloc, "cuMemAlloc_v2");
  lookUp(api.cuMemAllocManaged, "cuMemAllocManaged");
  lookUp(api.cuMemFree, "cuMemFree_v2");
  lookUp(api.cuMemcpyAsync, "cuMemcpyAsync");
  lookUp(api.cuMemsetD32Async, "cuMemsetD32Async");
  lookUp(api.cuMemsetD16Async, "cuMemsetD16Async");
  lookUp(api.cuTensorMapEncodeTiled, "cuTensorMapEncodeTiled", /*optional=*/true);
  lookUp(api.cuStreamBeginCapture, "cuStreamBeginCapture_v2", /*optional=*/true);
  lookUp(api.cuStreamEndCapture, "cuStreamEndCapture", /*optional=*/true);
  lookUp(api.cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags", /*optional=*/true);
  lookUp(api.cuGraphLaunch, "cuGraphLaunch", /*optional=*/true);
  lookUp(api.cuGraphExecDestroy, "cuGraphExecDestroy", /*optional=*/true);
  lookUp(api.cuGraphDestroy, "cuGraphDestroy", /*optional=*/true);
  lookUp(api.cuMemHostAlloc, "cuMemHostAlloc", /*optional=*/true);
  lookUp(api.cuMemFreeHost, "cuMemFreeHost", /*optional=*/true);
  return missing;
}

std::string callFailed(const char *call, CUresult result) {
  return std::string(call) + " failed: " + errorName(result);
}

// dlopen, cuInit, device 0, its primary context, the stream. Returns "" or
// the one-line reason.
std::string load(LoadedDriver &driver) {
  std::string path = driverPath();
  void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return "this executable was compiled for " + targetName() + " and needs the NVIDIA driver (" +
           kDefaultDriver + "): " + dlerror();
  DriverApi &api = driver.api;
  if (std::string missing = lookUpEntryPoints(library, path, api); !missing.empty())
    return missing;
  getErrorName = api.cuGetErrorName;
  driver.device.api = &api;
  if (CUresult result = api.cuInit(0); result != CUDA_SUCCESS) {
    if (result == CUDA_ERROR_STUB_LIBRARY)
      return "'" + path + "' is the CUDA toolkit's stub library, not the NVIDIA driver (cuInit: " +
             errorName(result) + "); this executable was compiled for " + targetName() +
             " and needs the driver's libcuda.so.1";
    if (result == CUDA_ERROR_NO_DEVICE)
      return "no CUDA device is visible (cuInit: " + errorName(result) + ")";
    return callFailed("cuInit", result);
  }
  int count = 0;
  if (CUresult result = api.cuDeviceGetCount(&count); result != CUDA_SUCCESS)
    return callFailed("cuDeviceGetCount", result);
  if (count == 0)
    return "no CUDA device is visible (cuDeviceGetCount: 0 devices)";
  Device &device = driver.device;
  if (CUresult result = api.cuDeviceGet(&device.device, 0); result != CUDA_SUCCESS)
    return callFailed("cuDeviceGet", result);
  char name[256] = {};
  if (CUresult result = api.cuDeviceGetName(name, sizeof(name) - 1, device.device);
      result != CUDA_SUCCESS)
    return callFailed("cuDeviceGetName", result);
  device.name = name;
  if (CUresult result = api.cuDevicePrimaryCtxRetain(&device.context, device.device);
      result != CUDA_SUCCESS)
    return callFailed("cuDevicePrimaryCtxRetain", result);
  if (CUresult result = api.cuCtxSetCurrent(device.context); result != CUDA_SUCCESS)
    return callFailed("cuCtxSetCurrent", result);
  // Non-blocking: the legacy default stream, which other libraries in the
  // process may use, does not serialize with it.
  if (CUresult result = api.cuStreamCreate(&device.stream, CU_STREAM_NON_BLOCKING);
      result != CUDA_SUCCESS)
    return callFailed("cuStreamCreate", result);
  return "";
}

LoadedDriver &loadedDriver() {
  static LoadedDriver *driver = [] {
    auto *loaded = new LoadedDriver;
    loaded->error = load(*loaded);
    return loaded;
  }();
  return *driver;
}
} // namespace

namespace moec::rt::cuda {

std::string initialize() {
  const LoadedDriver &driver = loadedDriver();
  if (!driver.error.empty())
    return driver.error;
  // The context is current per thread; compiled code and main() may call in
  // from different threads.
  thread_local bool contextCurrent = false;
  if (!contextCurrent) {
    if (CUresult result = driver.api.cuCtxSetCurrent(driver.device.context); result != CUDA_SUCCESS)
      return callFailed("cuCtxSetCurrent", result);
    contextCurrent = true;
  }
  return "";
}

const Device &device() {
  if (std::string error = initialize(); !error.empty())
    fatalError(error);
  return loadedDriver().device;
}

void setTargetName(const std::string &target) { mutableTargetName() = target; }

const std::string &targetName() { return mutableTargetName(); }

std::string errorName(CUresult result) {
  const char *name = nullptr;
  if (auto lookUp = getErrorName.load(); lookUp && lookUp(result, &name) == CUDA_SUCCESS && name)
    return name;
  if (const char *known = knownErrorName(result))
    return known;
  return "CUresult " + std::to_string(result);
}

void fatalError(const std::string &message) {
  // One message, also when a global destructor that runs during exit (the
  // module's unload) fails again.
  static std::atomic<bool> reported = false;
  if (reported.exchange(true))
    std::_Exit(kExitUserError);
  fatalErrorHandler(message);
  std::exit(kExitUserError);
}

void setFatalErrorHandler(FatalErrorHandler handler) {
  fatalErrorHandler = handler ? handler : printError;
}

void check(CUresult result, const char *call) {
  if (result != CUDA_SUCCESS)
    fatalError(callFailed(call, result));
}

} // namespace moec::rt::cuda
