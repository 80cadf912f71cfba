//===- DeviceMemoryPoolTest.cpp - Reusing device allocations --------------===//

#include "cuda/DeviceMemoryPool.h"

#include <gtest/gtest.h>

#include <cstdlib>

using moec::rt::DeviceMemoryPool;

namespace {
// Counts what the pool takes from and gives back to its source.
int allocations = 0;
int releases = 0;
bool outOfMemory = false;

void *countingAllocate(uint64_t bytes, bool) {
  if (outOfMemory)
    return nullptr;
  ++allocations;
  return std::malloc(bytes);
}
void countingRelease(void *block, bool) {
  ++releases;
  std::free(block);
}

class DeviceMemoryPoolTest : public ::testing::Test {
protected:
  void SetUp() override { allocations = releases = 0, outOfMemory = false; }
  DeviceMemoryPool pool{{countingAllocate, countingRelease}};
};

TEST(DeviceMemoryPoolSizeClass, QuarterStepsAbove256Bytes) {
  EXPECT_EQ(DeviceMemoryPool::sizeClass(1), 256u);
  EXPECT_EQ(DeviceMemoryPool::sizeClass(256), 256u);
  EXPECT_EQ(DeviceMemoryPool::sizeClass(257), 320u);
  EXPECT_EQ(DeviceMemoryPool::sizeClass(1024), 1024u);
  EXPECT_EQ(DeviceMemoryPool::sizeClass(1025), 1280u);
  EXPECT_EQ(DeviceMemoryPool::sizeClass((uint64_t(1) << 30) + 1), uint64_t(5) << 28);
}

TEST_F(DeviceMemoryPoolTest, DeviceBlocksAreReusedAtOnce) {
  void *first = pool.allocate(1000, /*managed=*/false);
  ASSERT_TRUE(pool.release(first));
  // Same size class: the cached block, no new allocation.
  EXPECT_EQ(pool.allocate(1010, /*managed=*/false), first);
  EXPECT_EQ(allocations, 1);
  // Another class or kind of memory needs its own block.
  void *managed = pool.allocate(1000, /*managed=*/true);
  EXPECT_NE(managed, first);
  EXPECT_EQ(allocations, 2);
  EXPECT_EQ(pool.bytesInUse(), 2 * DeviceMemoryPool::sizeClass(1000));
  pool.release(first);
  pool.release(managed);
}

TEST_F(DeviceMemoryPoolTest, ManagedBlocksWaitForTheStream) {
  void *block = pool.allocate(4096, /*managed=*/true);
  ASSERT_TRUE(pool.release(block));
  // The host may write a managed block at once, while queued kernels still
  // read it: not reused before the stream is synchronized.
  void *second = pool.allocate(4096, /*managed=*/true);
  EXPECT_NE(second, block);
  pool.streamSynchronized();
  EXPECT_EQ(pool.allocate(4096, /*managed=*/true), block);
  EXPECT_EQ(allocations, 2);
  pool.release(block);
  pool.release(second);
}

TEST_F(DeviceMemoryPoolTest, RepeatedRunsAllocateOnce) {
  for (int run = 0; run < 5; ++run) {
    void *a = pool.allocate(100, true), *b = pool.allocate(5000, false);
    pool.release(a);
    pool.release(b);
    pool.streamSynchronized();
  }
  EXPECT_EQ(allocations, 2);
  EXPECT_EQ(pool.bytesInUse(), 0u);
}

TEST_F(DeviceMemoryPoolTest, TrimReturnsCachedBlocks) {
  void *used = pool.allocate(100, false);
  pool.release(pool.allocate(5000, false));
  pool.release(pool.allocate(5000, true)); // pending
  pool.trim();
  EXPECT_EQ(releases, 2);
  outOfMemory = true;
  EXPECT_EQ(pool.allocate(5000, false), nullptr);
  pool.release(used);
}

TEST_F(DeviceMemoryPoolTest, DestructionReturnsCachedBlocks) {
  {
    DeviceMemoryPool local{{countingAllocate, countingRelease}};
    local.release(local.allocate(1, false));
  }
  EXPECT_EQ(releases, 1);
}

TEST_F(DeviceMemoryPoolTest, ForeignPointersAreRefused) {
  int onStack = 0;
  EXPECT_FALSE(pool.release(&onStack));
  EXPECT_TRUE(pool.release(nullptr));
}
} // namespace

TEST_F(DeviceMemoryPoolTest, ContainsEveryAddressOfItsBlocks) {
  auto *block = static_cast<char *>(pool.allocate(1000, /*managed=*/false));
  EXPECT_TRUE(pool.contains(block));
  EXPECT_TRUE(pool.contains(block + 999));
  int onTheStack = 0;
  EXPECT_FALSE(pool.contains(&onTheStack));
  // A cached block is still the pool's; one given back to the source is not.
  pool.release(block);
  EXPECT_TRUE(pool.contains(block + 10));
  pool.trim();
  EXPECT_FALSE(pool.contains(block + 10));
}

TEST_F(DeviceMemoryPoolTest, ReservedBlocksAreKeptForTheGraph) {
  // A warm-up run leaves two blocks in the pool.
  void *first = pool.allocate(1000, /*managed=*/false);
  void *second = pool.allocate(1000, /*managed=*/false);
  pool.release(first);
  pool.release(second);

  // The captured run gets them again (reusing within the run as before) from the pool.
  pool.startReserving();
  void *a = pool.allocate(1000, /*managed=*/false);
  pool.release(a);
  void *b = pool.allocate(1000, /*managed=*/false);
  void *c = pool.allocate(1000, /*managed=*/false);
  pool.release(b);
  pool.release(c);
  DeviceMemoryPool::Reservation reservation = pool.stopReserving();
  EXPECT_EQ(reservation.fromSource, 0);
  EXPECT_EQ(reservation.stillInUse, 0);
  EXPECT_EQ(reservation.blocks.size(), 2u);
  EXPECT_EQ(allocations, 2);

  // No one else gets them, and trim keeps them.
  void *other = pool.allocate(1000, /*managed=*/false);
  EXPECT_NE(other, first);
  EXPECT_NE(other, second);
  EXPECT_EQ(allocations, 3);
  pool.release(other);
  pool.trim();
  EXPECT_EQ(releases, 1);
  EXPECT_TRUE(pool.contains(first));

  // Once the graph is gone they are the pool's again.
  pool.endReservation(reservation);
  void *again = pool.allocate(1000, /*managed=*/false);
  EXPECT_TRUE(again == first || again == second);
  EXPECT_EQ(allocations, 3);
  pool.release(again);
}

TEST_F(DeviceMemoryPoolTest, ReservationCountsNewAndLeftoverBlocks) {
  pool.startReserving();
  void *fresh = pool.allocate(1000, /*managed=*/false);
  void *kept = pool.allocate(5000, /*managed=*/false);
  pool.release(fresh);
  DeviceMemoryPool::Reservation reservation = pool.stopReserving();
  EXPECT_EQ(reservation.fromSource, 2);
  EXPECT_EQ(reservation.stillInUse, 1);
  pool.endReservation(reservation);
  pool.release(kept);
}
