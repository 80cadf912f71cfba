//===- CudaRuntime.h - The GPU runtime's C++ side ---------------*- C++ -*-===//
//
// What main() uses of the GPU runtime besides the C functions that compiled
// code calls (the mgpu* functions and moec_rt_gpu_constant of
// include/moec-runtime/kernels.h).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_CUDARUNTIME_H
#define MOEC_LIB_RUNTIME_CUDARUNTIME_H

#include <functional>

namespace moec::rt::cuda {

// Waits until the process's stream has done all queued work; managed buffers
// that compiled code freed become reusable.
void synchronize();

// Milliseconds that `run` takes on the process's stream, between two CUDA
// events recorded before and after it, once the stream has finished it.
double timeOnStream(const std::function<void()> &run);

} // namespace moec::rt::cuda

#endif // MOEC_LIB_RUNTIME_CUDARUNTIME_H
