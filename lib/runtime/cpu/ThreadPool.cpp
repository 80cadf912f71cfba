//===- ThreadPool.cpp - The runtime's fixed-size thread pool --------------===//
//
// A parallel_for publishes one job: workers and the caller take chunks from a
// shared atomic counter, so that uneven chunks balance themselves. Nested
// calls (from inside a body) run inline, and calls from several application
// threads take turns, so that the pool never deadlocks on itself.
//
//===----------------------------------------------------------------------===//

#include "ThreadPool.h"

#include "moec-runtime/kernels.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <sched.h>
#include <thread>
#include <vector>

using namespace moec::rt;

namespace {
using Body = void (*)(void *ctx, int64_t begin, int64_t end);

// Enough chunks per thread that a slow thread does not hold the others up, few
// enough that the per-chunk overhead stays small.
constexpr int64_t kChunksPerThread = 4;

thread_local bool insideParallelBody = false;

class ThreadPool {
public:
  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i)
      workers.emplace_back([this] { workerLoop(); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
    }
    wakeWorkers.notify_all();
    for (std::thread &worker : workers)
      worker.join();
  }

  int size() const { return int(workers.size()) + 1; }

  void parallelFor(int64_t n, Body body, void *ctx) {
    if (n <= 0)
      return;
    if (workers.empty() || n == 1) {
      body(ctx, 0, n);
      return;
    }
    std::lock_guard<std::mutex> oneJobAtATime(callerMutex);
    int64_t chunk = std::max<int64_t>(1, n / (kChunksPerThread * size()));
    {
      std::lock_guard<std::mutex> lock(mutex);
      job = Job{body, ctx, n, chunk};
      next.store(0, std::memory_order_relaxed);
      busyWorkers = int(workers.size());
      ++generation;
    }
    wakeWorkers.notify_all();
    runChunks();
    std::unique_lock<std::mutex> lock(mutex);
    jobDone.wait(lock, [this] { return busyWorkers == 0; });
  }

private:
  struct Job {
    Body body = nullptr;
    void *ctx = nullptr;
    int64_t n = 0;
    int64_t chunk = 1;
  };

  void runChunks() {
    insideParallelBody = true;
    for (;;) {
      int64_t begin = next.fetch_add(job.chunk, std::memory_order_relaxed);
      if (begin >= job.n)
        break;
      job.body(job.ctx, begin, std::min(job.n, begin + job.chunk));
    }
    insideParallelBody = false;
  }

  void workerLoop() {
    uint64_t seenGeneration = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        wakeWorkers.wait(lock, [&] { return stopping || generation != seenGeneration; });
        if (stopping)
          return;
        seenGeneration = generation;
      }
      runChunks();
      std::lock_guard<std::mutex> lock(mutex);
      if (--busyWorkers == 0)
        jobDone.notify_one();
    }
  }

  std::vector<std::thread> workers;
  std::mutex callerMutex;
  std::mutex mutex;
  std::condition_variable wakeWorkers;
  std::condition_variable jobDone;
  // Guarded by `mutex`; `job` is read without it by the threads that the
  // generation bump woke, until they report done.
  Job job;
  uint64_t generation = 0;
  int busyWorkers = 0;
  bool stopping = false;
  std::atomic<int64_t> next{0};
};

std::mutex poolMutex;
// Callers hold a reference while they use the pool, so that setThreadCount may
// replace it under a running job; the old pool goes when its last caller is done.
std::shared_ptr<ThreadPool> pool;

std::shared_ptr<ThreadPool> globalPool() {
  std::lock_guard<std::mutex> lock(poolMutex);
  if (!pool)
    pool = std::make_shared<ThreadPool>(availableCpus());
  return pool;
}
} // namespace

int moec::rt::availableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

void moec::rt::setThreadCount(int threads) {
  threads = std::max(1, threads);
  std::shared_ptr<ThreadPool> replaced;
  std::lock_guard<std::mutex> lock(poolMutex);
  if (pool && pool->size() == threads)
    return;
  replaced = std::move(pool);
  pool = std::make_shared<ThreadPool>(threads);
}

// Inside a body the pool is busy: work there runs inline, on one thread.
extern "C" int moec_rt_num_threads(void) { return insideParallelBody ? 1 : globalPool()->size(); }

extern "C" void moec_rt_parallel_for(int64_t n, Body body, void *ctx) {
  if (insideParallelBody) {
    if (n > 0)
      body(ctx, 0, n);
    return;
  }
  globalPool()->parallelFor(n, body, ctx);
}
