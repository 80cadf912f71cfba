//===- HostMemoryPool.h - Host buffers kept across runs ---------*- C++ -*-===//
//
// Compiled host code allocates its intermediate and output buffers through
// MLIR's generic allocation functions (lib/runtime/core/Checks.cpp), and the
// runtime its own output copies through allocateBuffer. Fresh memory from the
// system costs page faults and page clearing on every run, which for large
// buffers is a third of a run's time; this pool keeps freed blocks by exact size
// and alignment, so that later runs of the same shapes take them back.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_CORE_HOSTMEMORYPOOL_H
#define MOEC_LIB_RUNTIME_CORE_HOSTMEMORYPOOL_H

#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace moec::rt {

class HostMemoryPool {
public:
  // Keeps at most `cacheLimitBytes` of freed blocks; a block freed beyond that
  // goes back to the system.
  explicit HostMemoryPool(size_t cacheLimitBytes);
  ~HostMemoryPool();
  HostMemoryPool(const HostMemoryPool &) = delete;
  HostMemoryPool &operator=(const HostMemoryPool &) = delete;

  // At least `bytes` bytes (and at least one) aligned to `alignment` (a power of
  // two) and to 64; null if out of memory. Thread-safe.
  void *allocate(size_t bytes, size_t alignment);
  // Keeps a block from allocate for reuse; returns any other pointer to free(),
  // which is how hand-written stand-in models allocate their outputs. Null is
  // ignored. Thread-safe.
  void deallocate(void *pointer);
  // Returns every kept block to the system.
  void releaseCached();

  // Blocks taken from the system so far, and bytes kept for reuse now.
  size_t systemAllocations() const;
  size_t cachedBytes() const;

private:
  using SizeClass = std::pair<size_t, size_t>; // bytes, alignment

  const size_t cacheLimitBytes;
  mutable std::mutex mutex;
  std::unordered_map<void *, SizeClass> handedOut;
  std::map<SizeClass, std::vector<void *>> cached;
  size_t cachedTotal = 0;
  size_t systemAllocationCount = 0;
};

// The process's pool (each model shared library has its own), which keeps at
// most MOEC_HOST_POOL_BYTES (1 GiB if unset; 0 returns every freed block to the
// system). Never destroyed: threads may free into it while the process exits.
HostMemoryPool &hostMemoryPool();

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_CORE_HOSTMEMORYPOOL_H
