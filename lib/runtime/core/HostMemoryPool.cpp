//===- HostMemoryPool.cpp - Host buffers kept across runs -----------------===//

#include "HostMemoryPool.h"

#include <algorithm>
#include <cstdlib>

using namespace moec::rt;

namespace {
constexpr size_t kMinAlignment = 64;
constexpr size_t kDefaultCacheLimitBytes = size_t(1) << 30;

// MOEC_HOST_POOL_BYTES when it is a number (0 turns the pool off), else 1 GiB.
size_t processCacheLimitBytes() {
  const char *text = std::getenv("MOEC_HOST_POOL_BYTES");
  if (!text || !*text)
    return kDefaultCacheLimitBytes;
  char *end = nullptr;
  unsigned long long limit = std::strtoull(text, &end, 10);
  return *end || *text == '-' ? kDefaultCacheLimitBytes : size_t(limit);
}
} // namespace

HostMemoryPool::HostMemoryPool(size_t cacheLimitBytes) : cacheLimitBytes(cacheLimitBytes) {}

HostMemoryPool::~HostMemoryPool() { releaseCached(); }

void *HostMemoryPool::allocate(size_t bytes, size_t alignment) {
  alignment = std::max(alignment, kMinAlignment);
  // aligned_alloc wants a multiple of the alignment.
  size_t rounded = (std::max<size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
  SizeClass sizeClass{rounded, alignment};
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = cached.find(sizeClass);
    if (found != cached.end() && !found->second.empty()) {
      void *block = found->second.back();
      found->second.pop_back();
      cachedTotal -= rounded;
      handedOut.insert_or_assign(block, sizeClass);
      return block;
    }
  }
  // Recorded with insert_or_assign below: a caller that freed a block past the pool (not
  // through moec_tensor_release) leaves its entry behind, and the system may hand the
  // address out again at another size.
  void *block = std::aligned_alloc(alignment, rounded);
  if (!block) {
    // Blocks of other sizes may be what the system is missing.
    releaseCached();
    block = std::aligned_alloc(alignment, rounded);
    if (!block)
      return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex);
  handedOut.insert_or_assign(block, sizeClass);
  ++systemAllocationCount;
  return block;
}

void HostMemoryPool::deallocate(void *pointer) {
  if (!pointer)
    return;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto found = handedOut.find(pointer);
    if (found != handedOut.end()) {
      SizeClass sizeClass = found->second;
      handedOut.erase(found);
      if (cachedTotal + sizeClass.first <= cacheLimitBytes) {
        cached[sizeClass].push_back(pointer);
        cachedTotal += sizeClass.first;
        return;
      }
    }
  }
  std::free(pointer);
}

void HostMemoryPool::releaseCached() {
  std::map<SizeClass, std::vector<void *>> released;
  {
    std::lock_guard<std::mutex> lock(mutex);
    released.swap(cached);
    cachedTotal = 0;
  }
  for (auto &[sizeClass, blocks] : released)
    for (void *block : blocks)
      std::free(block);
}

size_t HostMemoryPool::systemAllocations() const {
  std::lock_guard<std::mutex> lock(mutex);
  return systemAllocationCount;
}

size_t HostMemoryPool::cachedBytes() const {
  std::lock_guard<std::mutex> lock(mutex);
  return cachedTotal;
}

HostMemoryPool &moec::rt::hostMemoryPool() {
  static HostMemoryPool *pool = new HostMemoryPool(processCacheLimitBytes());
  return *pool;
}
