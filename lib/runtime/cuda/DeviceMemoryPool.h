//===- DeviceMemoryPool.h - Reusing device allocations ----------*- C++ -*-===//
//
// Compiled code allocates and frees its buffers on every run; cuMemAlloc and
// cuMemFree synchronize the device and cost tens of microseconds. The pool
// keeps freed blocks by size class and hands them out again, so that a
// model's second run allocates nothing from the driver.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_DEVICEMEMORYPOOL_H
#define MOEC_LIB_RUNTIME_DEVICEMEMORYPOOL_H

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

namespace moec::rt {

class DeviceMemoryPool {
public:
  // Where blocks come from and go back to: `allocate` returns null when the
  // device is out of memory.
  struct Source {
    void *(*allocate)(uint64_t bytes, bool managed);
    void (*release)(void *block, bool managed);
  };

  explicit DeviceMemoryPool(Source source) : source(source) {}
  // Returns the cached blocks; blocks still handed out stay with their users.
  ~DeviceMemoryPool() { trim(); }
  DeviceMemoryPool(const DeviceMemoryPool &) = delete;
  DeviceMemoryPool &operator=(const DeviceMemoryPool &) = delete;

  // The size a request of `bytes` occupies: at least 256 bytes, rounded up to
  // a quarter of its power of two (at most 25% waste).
  static uint64_t sizeClass(uint64_t bytes);

  // A block of at least `bytes` bytes (managed memory when `managed`): a
  // cached one of its size class, else a new one from the source. Null when
  // the source is out of memory.
  void *allocate(uint64_t bytes, bool managed);

  // Takes back a block that allocate returned (null is ignored). Work queued
  // on the stream may still use it, so only stream-ordered users may get it
  // again at once: device blocks, which the host never touches. Managed
  // blocks, which the host reads and writes directly, wait for
  // streamSynchronized. Returns false for a pointer the pool did not hand
  // out.
  bool release(void *block);

  // The stream has finished all queued work: released managed blocks are
  // free to reuse.
  void streamSynchronized();

  // Returns every cached block to the source (after a synchronization, since
  // pending blocks go too): the way out of an out-of-memory.
  void trim();

  // Bytes in blocks handed out and not released.
  uint64_t bytesInUse() const;

  // Whether `pointer` lies in a block the pool has from its source (handed out or not).
  bool contains(const void *pointer) const;

  // Reserving, for a CUDA graph (docs/runtime-abi.md): between startReserving and
  // stopReserving, every block handed out is remembered (released ones are reused as
  // usual meanwhile, so that a run gets the blocks it got before); stopReserving takes
  // the released ones out of the free lists into the reservation, so that no later
  // allocation gets them and trim keeps them: the graph's kernels use them on every replay.
  struct Reservation {
    std::vector<void *> blocks;
    // Blocks that allocate had to get from the source (the pool was not warm).
    int fromSource = 0;
    // Blocks handed out while reserving and not released by stopReserving.
    int stillInUse = 0;
  };
  void startReserving();
  Reservation stopReserving();
  // Gives a reservation's blocks back to the free lists (the graph is gone).
  void endReservation(const Reservation &reservation);

private:
  struct BlockInfo {
    uint64_t sizeClass;
    bool managed;
  };
  using FreeLists = std::map<std::pair<uint64_t, bool>, std::vector<void *>>;

  Source source;
  mutable std::mutex mutex;
  std::unordered_map<void *, BlockInfo> handedOut;
  FreeLists freeBlocks;
  // Managed blocks released since the last synchronization.
  FreeLists pendingBlocks;
  uint64_t inUse = 0;
  // Every block the pool has from its source, by address: its size class and kind.
  std::map<uintptr_t, BlockInfo> ownedBlocks;
  bool reserving = false;
  Reservation reservation;
  std::set<void *> handedOutWhileReserving;
};

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_DEVICEMEMORYPOOL_H
