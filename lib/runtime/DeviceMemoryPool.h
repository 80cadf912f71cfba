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
};

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_DEVICEMEMORYPOOL_H
