//===- CudaRuntimeTest.cpp - The GPU runtime on the fake driver -----------===//
//
// The mgpu* functions and moec_rt_gpu_constant through MOEC_CUDA_DRIVER =
// test/lib/runtime/FakeCudaDriver.cpp, which counts the driver calls.
//
//===----------------------------------------------------------------------===//

#include "cuda/CudaRuntime.h"

#include "moec-runtime/kernels.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <vector>

namespace {
// Set before the runtime first touches the driver (it loads it lazily).
const bool driverChosen = setenv("MOEC_CUDA_DRIVER", MOEC_FAKE_CUDA_DRIVER, 1) == 0;

// The fake's call counter, from the same library the runtime loaded.
long driverCalls(const char *entry) {
  static auto *calls = reinterpret_cast<long (*)(const char *)>(
      dlsym(dlopen(MOEC_FAKE_CUDA_DRIVER, RTLD_NOW), "moec_fake_cuda_calls"));
  return calls(entry);
}

TEST(CudaRuntime, RepeatedRunsReuseDeviceMemory) {
  ASSERT_TRUE(driverChosen);
  void *stream = mgpuStreamCreate();
  // The allocations of one "run" of compiled code, freed at its end.
  auto run = [&] {
    void *managed = mgpuMemAlloc(12345, stream, /*isHostShared=*/true);
    void *device = mgpuMemAlloc(64, stream, /*isHostShared=*/false);
    mgpuMemset32(device, 7, 16, stream);
    mgpuMemFree(device, stream);
    mgpuMemFree(managed, stream);
    mgpuStreamSynchronize(stream);
  };
  run();
  long managedAllocations = driverCalls("cuMemAllocManaged");
  long deviceAllocations = driverCalls("cuMemAlloc_v2");
  for (int i = 0; i < 3; ++i)
    run();
  EXPECT_EQ(driverCalls("cuMemAllocManaged"), managedAllocations);
  EXPECT_EQ(driverCalls("cuMemAlloc_v2"), deviceAllocations);
  EXPECT_EQ(driverCalls("cuMemFree_v2"), 0);
  // One stream for the process; destroying it is a no-op.
  mgpuStreamDestroy(stream);
  EXPECT_EQ(mgpuStreamCreate(), stream);
  EXPECT_EQ(driverCalls("cuStreamCreate"), 1);
}

// The GPU side of one run of compiled code: its input copied to a device buffer, the
// buffer copied back to its output, the buffer freed, one wait at the end; `extra` more
// bytes of device memory for a run of other shapes, `waits` waits in all.
void runCopies(const float *input, float *output, uint64_t extra = 0, int waits = 1) {
  void *stream = mgpuStreamCreate();
  void *buffer = mgpuMemAlloc(16 + extra, stream, /*isHostShared=*/false);
  mgpuMemcpy(buffer, const_cast<float *>(input), 16, stream);
  mgpuMemcpy(output, buffer, 16, stream);
  mgpuMemFree(buffer, stream);
  for (int i = 0; i < waits; ++i)
    mgpuStreamSynchronize(stream);
}

TEST(CudaGraphs, CapturedCopiesGoThroughStagingAndReplay) {
  ASSERT_TRUE(driverChosen);
  namespace cuda = moec::rt::cuda;
  float input[4] = {1, 2, 3, 4}, output[4] = {};
  runCopies(input, output);
  long waits = driverCalls("cuStreamSynchronize");
  long allocations = driverCalls("cuMemAlloc_v2");

  ASSERT_EQ(cuda::beginCapture(), "");
  float captured[4] = {};
  runCopies(input, captured);
  std::string why;
  std::unique_ptr<cuda::Graph> graph = cuda::endCapture(why);
  ASSERT_TRUE(graph) << why;
  // Nothing ran, nothing waited, nothing was allocated from the driver.
  EXPECT_EQ(captured[0], 0.0f);
  EXPECT_EQ(driverCalls("cuStreamSynchronize"), waits);
  EXPECT_EQ(driverCalls("cuMemAlloc_v2"), allocations);
  // The copies read and write page-locked staging, the input's taken at capture.
  const std::vector<cuda::HostStage> &stages = graph->stages();
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].host, input);
  EXPECT_TRUE(stages[0].toDevice);
  EXPECT_EQ(std::memcmp(stages[0].staging, input, 16), 0);
  EXPECT_EQ(stages[1].host, captured);
  EXPECT_FALSE(stages[1].toDevice);

  // A replay with new contents in the input's staging brings them back.
  const float next[4] = {5, 6, 7, 8};
  std::memcpy(stages[0].staging, next, 16);
  graph->launch();
  cuda::synchronize();
  EXPECT_EQ(std::memcmp(stages[1].staging, next, 16), 0);
  EXPECT_EQ(driverCalls("cuGraphLaunch"), 1);

  // The graph's device buffer is its own: a plain run meanwhile gets another.
  runCopies(input, output);
  EXPECT_EQ(driverCalls("cuMemAlloc_v2"), allocations + 1);
}

TEST(CudaGraphs, CapturesThatAllocateOrWaitAreDropped) {
  ASSERT_TRUE(driverChosen);
  namespace cuda = moec::rt::cuda;
  float input[4] = {1, 2, 3, 4}, output[4] = {};
  std::string why;

  // Shapes the pool has not seen: a buffer comes from the driver while capturing.
  ASSERT_EQ(cuda::beginCapture(), "");
  runCopies(input, output, /*extra=*/1 << 20);
  EXPECT_FALSE(cuda::endCapture(why));
  EXPECT_NE(why.find("allocated from the driver while capturing"), std::string::npos) << why;

  // Warm now, but the run waits mid-way.
  ASSERT_EQ(cuda::beginCapture(), "");
  runCopies(input, output, /*extra=*/1 << 20, /*waits=*/2);
  EXPECT_FALSE(cuda::endCapture(why));
  EXPECT_EQ(why, "the run waited for the GPU before its end");

  // Nothing a dropped capture recorded ran: the output is untouched.
  EXPECT_EQ(output[0], 0.0f);
}

TEST(CudaRuntime, ConstantsAreUploadedOncePerAddress) {
  static const float weights[4] = {1, 2, 3, 4};
  long uploads = driverCalls("cuMemcpyAsync");
  long managed = driverCalls("cuMemAllocManaged");
  void *copy = moec_rt_gpu_constant(weights, sizeof(weights));
  ASSERT_NE(copy, nullptr);
  EXPECT_NE(copy, weights);
  EXPECT_EQ(moec_rt_gpu_constant(weights, sizeof(weights)), copy);
  EXPECT_EQ(driverCalls("cuMemcpyAsync"), uploads + 1);
  // Device memory, which only a copy on the stream reads back.
  EXPECT_EQ(driverCalls("cuMemAllocManaged"), managed);
  float back[4] = {};
  mgpuMemcpy(back, copy, sizeof(back), mgpuStreamCreate());
  EXPECT_EQ(std::vector<float>(back, back + 4), std::vector<float>(weights, weights + 4));
}

TEST(CudaRuntime, ModulesLoadOnFirstUse) {
  static const char ptx[] = ".version 7.8\n";
  long loads = driverCalls("cuModuleLoadDataEx");
  void *module = mgpuModuleLoadJIT(const_cast<char *>(ptx), 3);
  EXPECT_EQ(driverCalls("cuModuleLoadDataEx"), loads);
  void *function = mgpuModuleGetFunction(module, "kernel");
  EXPECT_EQ(mgpuModuleGetFunction(module, "kernel"), function);
  EXPECT_EQ(driverCalls("cuModuleLoadDataEx"), loads + 1);
  mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 0, mgpuStreamCreate(), nullptr, nullptr, 0);
  mgpuModuleUnload(module);
}

TEST(CudaRuntime, LaunchesRaiseTheSharedMemoryLimitOnlyWhenNeeded) {
  static const char ptx[] = ".version 7.8\n";
  void *module = mgpuModuleLoadJIT(const_cast<char *>(ptx), 3);
  void *function = mgpuModuleGetFunction(module, "kernel");
  void *stream = mgpuStreamCreate();
  long raised = driverCalls("cuFuncSetAttribute");
  mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 48 * 1024, stream, nullptr, nullptr, 0);
  EXPECT_EQ(driverCalls("cuFuncSetAttribute"), raised);
  mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 100 * 1024, stream, nullptr, nullptr, 0);
  EXPECT_EQ(driverCalls("cuFuncSetAttribute"), raised + 1);
  // Thread-block clusters go through cuLaunchKernelEx.
  long extended = driverCalls("cuLaunchKernelEx");
  mgpuLaunchClusterKernel(function, 2, 1, 1, 4, 1, 1, 128, 1, 1, 0, stream, nullptr, nullptr);
  EXPECT_EQ(driverCalls("cuLaunchKernelEx"), extended + 1);
  mgpuModuleUnload(module);
}

TEST(CudaRuntime, LaunchesOfEmptyGridsAreSkipped) {
  static const char ptx[] = ".version 7.8\n";
  void *module = mgpuModuleLoadJIT(const_cast<char *>(ptx), 3);
  void *function = mgpuModuleGetFunction(module, "kernel");
  void *stream = mgpuStreamCreate();
  long launches = driverCalls("cuLaunchKernel");
  long clusterLaunches = driverCalls("cuLaunchKernelEx");
  // An input with no tokens gives a grid with a dimension of 0 blocks.
  mgpuLaunchKernel(function, 0, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  mgpuLaunchKernel(function, 4, 0, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  mgpuLaunchKernel(function, 4, 1, 0, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  mgpuLaunchClusterKernel(function, 2, 1, 1, 0, 1, 1, 128, 1, 1, 0, stream, nullptr, nullptr);
  EXPECT_EQ(driverCalls("cuLaunchKernel"), launches);
  EXPECT_EQ(driverCalls("cuLaunchKernelEx"), clusterLaunches);
  mgpuLaunchKernel(function, 4, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_EQ(driverCalls("cuLaunchKernel"), launches + 1);
  mgpuModuleUnload(module);
}

TEST(CudaRuntime, CopiesOfNothingAreSkipped) {
  // An input with no tokens: mgpuMemAlloc gives no buffer, and the copy into it has nothing
  // to do.
  void *stream = mgpuStreamCreate();
  void *empty = mgpuMemAlloc(0, stream, /*isHostShared=*/false);
  EXPECT_EQ(empty, nullptr);
  long copies = driverCalls("cuMemcpyAsync");
  mgpuMemcpy(empty, nullptr, 0, stream);
  EXPECT_EQ(driverCalls("cuMemcpyAsync"), copies);
}

using CudaRuntimeDeathTest = ::testing::Test;

TEST_F(CudaRuntimeDeathTest, DriverErrorsNameTheCall) {
  EXPECT_EXIT(
      {
        setenv("MOEC_FAKE_CUDA_FAIL", "cuMemsetD16Async@1+=1", 1);
        void *buffer = mgpuMemAlloc(64, nullptr, false);
        mgpuMemset16(buffer, 1, 32, mgpuStreamCreate());
      },
      ::testing::ExitedWithCode(2), "error: cuMemsetD16Async failed: CUDA_ERROR_INVALID_VALUE");
}

TEST_F(CudaRuntimeDeathTest, UnknownErrorsKeepTheirNumber) {
  EXPECT_EXIT(
      {
        setenv("MOEC_FAKE_CUDA_FAIL", "cuStreamSynchronize@1+=12345", 1);
        mgpuStreamSynchronize(mgpuStreamCreate());
      },
      ::testing::ExitedWithCode(2), "cuStreamSynchronize failed: CUresult 12345");
}

TEST_F(CudaRuntimeDeathTest, OutOfMemoryForAConstant) {
  static const char big[1000] = {};
  EXPECT_EXIT(
      {
        setenv("MOEC_FAKE_CUDA_FAIL", "cuMemAlloc_v2@1+=2", 1);
        moec_rt_gpu_constant(big, sizeof(big));
      },
      ::testing::ExitedWithCode(2), "out of GPU memory on Fake GPU: cuMemAlloc of 1000 bytes failed");
}

// The fake's device memory is out of the host's reach, as a GPU's is: host code that
// touches it crashes in the tests instead of passing by accident.
TEST_F(CudaRuntimeDeathTest, HostAccessToDeviceMemoryCrashes) {
  void *device = mgpuMemAlloc(64, mgpuStreamCreate(), /*isHostShared=*/false);
  EXPECT_DEATH(*static_cast<volatile float *>(device) = 1.0f, "");
  void *managed = mgpuMemAlloc(64, mgpuStreamCreate(), /*isHostShared=*/true);
  *static_cast<volatile float *>(managed) = 1.0f;
  mgpuMemFree(managed, nullptr);
  mgpuMemFree(device, nullptr);
}

TEST_F(CudaRuntimeDeathTest, FreeOfAForeignPointer) {
  int onStack = 0;
  EXPECT_EXIT(mgpuMemFree(&onStack, nullptr), ::testing::ExitedWithCode(2),
              "mgpuMemFree of an address that mgpuMemAlloc did not return");
}
} // namespace
