//===- HostMemoryPoolTest.cpp - Host buffers kept across runs -------------===//

#include "core/HostMemoryPool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

using moec::rt::HostMemoryPool;

namespace {

constexpr size_t kMiB = size_t(1) << 20;

bool isAligned(const void *pointer, size_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

TEST(HostMemoryPoolTest, ReusesAFreedBlockOfTheSameSize) {
  HostMemoryPool pool(64 * kMiB);
  void *first = pool.allocate(8 * kMiB, 64);
  ASSERT_NE(first, nullptr);
  pool.deallocate(first);
  EXPECT_EQ(pool.cachedBytes(), 8 * kMiB);
  void *second = pool.allocate(8 * kMiB, 64);
  EXPECT_EQ(second, first);
  EXPECT_EQ(pool.systemAllocations(), 1u);
  EXPECT_EQ(pool.cachedBytes(), 0u);
  pool.deallocate(second);
}

TEST(HostMemoryPoolTest, OtherSizesAndAlignmentsTakeOtherBlocks) {
  HostMemoryPool pool(64 * kMiB);
  void *block = pool.allocate(1000, 64);
  pool.deallocate(block);
  void *larger = pool.allocate(5000, 64);
  void *moreAligned = pool.allocate(1000, 4096);
  EXPECT_NE(larger, block);
  EXPECT_NE(moreAligned, block);
  EXPECT_EQ(pool.systemAllocations(), 3u);
  pool.deallocate(larger);
  pool.deallocate(moreAligned);
}

TEST(HostMemoryPoolTest, AlignsToTheRequestAndTo64) {
  HostMemoryPool pool(64 * kMiB);
  for (size_t alignment : {size_t(1), size_t(16), size_t(64), size_t(4096)}) {
    void *block = pool.allocate(3, alignment);
    ASSERT_NE(block, nullptr);
    EXPECT_TRUE(isAligned(block, std::max<size_t>(alignment, 64))) << alignment;
    pool.deallocate(block);
  }
  void *empty = pool.allocate(0, 64);
  EXPECT_NE(empty, nullptr);
  pool.deallocate(empty);
}

TEST(HostMemoryPoolTest, KeepsNoMoreThanItsLimit) {
  HostMemoryPool pool(kMiB);
  void *small = pool.allocate(kMiB / 2, 64);
  void *large = pool.allocate(kMiB, 64);
  pool.deallocate(small);
  pool.deallocate(large);
  EXPECT_EQ(pool.cachedBytes(), kMiB / 2);
  pool.releaseCached();
  EXPECT_EQ(pool.cachedBytes(), 0u);
  pool.deallocate(pool.allocate(kMiB / 2, 64));
  EXPECT_EQ(pool.systemAllocations(), 3u);
}

TEST(HostMemoryPoolTest, HandsForeignPointersToFree) {
  HostMemoryPool pool(kMiB);
  pool.deallocate(std::malloc(100));
  pool.deallocate(nullptr);
  EXPECT_EQ(pool.cachedBytes(), 0u);
}

// Threads that allocate, fill and free blocks of a few sizes never share a block
// handed out at the same time, and in the end take no more from the system than
// they held at once.
TEST(HostMemoryPoolTest, ThreadsShareThePool) {
  HostMemoryPool pool(64 * kMiB);
  constexpr int kThreads = 8, kRounds = 200;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        size_t bytes = size_t(4096) << (round % 3);
        auto *block = static_cast<unsigned char *>(pool.allocate(bytes, 64));
        std::memset(block, t, bytes);
        std::this_thread::yield();
        for (size_t i = 0; i < bytes; ++i)
          failures[t] += block[i] != t;
        pool.deallocate(block);
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0) << "thread " << t;
  EXPECT_LE(pool.systemAllocations(), size_t(3 * kThreads));
}

} // namespace
