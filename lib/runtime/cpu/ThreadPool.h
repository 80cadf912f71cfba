//===- ThreadPool.h - The runtime's fixed-size thread pool ------*- C++ -*-===//
//
// One process-wide pool serves moec_rt_parallel_for (kernels.h). Idle workers
// sleep on a condition variable; they never spin.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_THREADPOOL_H
#define MOEC_LIB_RUNTIME_THREADPOOL_H

namespace moec::rt {

// The number of CPUs this process may run on.
int availableCpus();

// Sets the size of the pool (the calling thread counts as one; 1 runs
// everything inline). Later parallel_for calls use the new size; calls under
// way finish on the old pool. Not to be called from inside a parallel body.
void setThreadCount(int threads);

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_THREADPOOL_H
