//===- ThreadPoolTest.cpp - moec_rt_parallel_for --------------------------===//

#include "cpu/ThreadPool.h"

#include "moec-runtime/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

using namespace moec::rt;

namespace {

// Counts how often each index in [0, n) was visited.
struct Visits {
  std::vector<std::atomic<int>> counts;
  std::atomic<int> calls{0};
  explicit Visits(int64_t n) : counts(n) {}

  static void body(void *ctx, int64_t begin, int64_t end) {
    auto *visits = static_cast<Visits *>(ctx);
    ++visits->calls;
    for (int64_t i = begin; i < end; ++i)
      ++visits->counts[i];
  }

  bool eachOnce() const {
    for (const auto &count : counts)
      if (count != 1)
        return false;
    return true;
  }
};

class ThreadPoolTest : public ::testing::TestWithParam<int> {
protected:
  void SetUp() override { setThreadCount(GetParam()); }
};

TEST_P(ThreadPoolTest, PoolHasTheRequestedSize) { EXPECT_EQ(moec_rt_num_threads(), GetParam()); }

TEST_P(ThreadPoolTest, NothingToDo) {
  Visits visits(0);
  moec_rt_parallel_for(0, Visits::body, &visits);
  moec_rt_parallel_for(-3, Visits::body, &visits);
  EXPECT_EQ(visits.calls, 0);
}

TEST_P(ThreadPoolTest, FewerItemsThanThreads) {
  for (int64_t n = 1; n <= 3; ++n) {
    Visits visits(n);
    moec_rt_parallel_for(n, Visits::body, &visits);
    EXPECT_TRUE(visits.eachOnce()) << n;
  }
}

TEST_P(ThreadPoolTest, ManyChunksManyTimes) {
  for (int repeat = 0; repeat < 200; ++repeat) {
    Visits visits(1000 + repeat);
    moec_rt_parallel_for(1000 + repeat, Visits::body, &visits);
    ASSERT_TRUE(visits.eachOnce()) << repeat;
  }
}

TEST_P(ThreadPoolTest, NestedCallsRunInline) {
  struct Outer {
    std::vector<std::unique_ptr<Visits>> inner;
    static void body(void *ctx, int64_t begin, int64_t end) {
      auto *outer = static_cast<Outer *>(ctx);
      for (int64_t i = begin; i < end; ++i)
        moec_rt_parallel_for(50, Visits::body, outer->inner[i].get());
    }
  };
  Outer outer;
  for (int i = 0; i < 8; ++i)
    outer.inner.push_back(std::make_unique<Visits>(50));
  moec_rt_parallel_for(8, Outer::body, &outer);
  for (const auto &visits : outer.inner)
    EXPECT_TRUE(visits->eachOnce());
}

TEST_P(ThreadPoolTest, BodiesSeeOneThread) {
  struct Probe {
    std::atomic<int> maxSeen{0};
    static void body(void *ctx, int64_t, int64_t) {
      auto *probe = static_cast<Probe *>(ctx);
      probe->maxSeen = std::max(probe->maxSeen.load(), moec_rt_num_threads());
    }
  };
  Probe probe;
  moec_rt_parallel_for(64, Probe::body, &probe);
  EXPECT_EQ(probe.maxSeen, 1);
}

TEST_P(ThreadPoolTest, ResizingWhileAnotherThreadRuns) {
  std::atomic<bool> stop{false};
  std::thread runner([&] {
    while (!stop) {
      Visits visits(100);
      moec_rt_parallel_for(100, Visits::body, &visits);
      ASSERT_TRUE(visits.eachOnce());
    }
  });
  for (int i = 0; i < 50; ++i)
    setThreadCount(1 + i % 3);
  stop = true;
  runner.join();
}

INSTANTIATE_TEST_SUITE_P(Threads, ThreadPoolTest, ::testing::Values(1, 2, 5));

} // namespace
