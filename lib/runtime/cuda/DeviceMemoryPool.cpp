//===- DeviceMemoryPool.cpp - Reusing device allocations ------------------===//

#include "DeviceMemoryPool.h"

using namespace moec::rt;

uint64_t DeviceMemoryPool::sizeClass(uint64_t bytes) {
  constexpr uint64_t kSmallest = 256;
  if (bytes <= kSmallest)
    return kSmallest;
  // Four classes per power of two: the step is a quarter of the largest power
  // of two below `bytes`.
  int highestBit = 63 - __builtin_clzll(bytes - 1);
  uint64_t step = uint64_t(1) << (highestBit - 2);
  return (bytes + step - 1) & ~(step - 1);
}

void *DeviceMemoryPool::allocate(uint64_t bytes, bool managed) {
  uint64_t size = sizeClass(bytes);
  std::lock_guard<std::mutex> lock(mutex);
  void *block = nullptr;
  if (auto it = freeBlocks.find({size, managed}); it != freeBlocks.end() && !it->second.empty()) {
    block = it->second.back();
    it->second.pop_back();
  } else {
    block = source.allocate(size, managed);
    if (!block)
      return nullptr;
    ownedBlocks[reinterpret_cast<uintptr_t>(block)] = {size, managed};
    if (reserving)
      ++reservation.fromSource;
  }
  handedOut[block] = {size, managed};
  if (reserving)
    handedOutWhileReserving.insert(block);
  inUse += size;
  return block;
}

bool DeviceMemoryPool::release(void *block) {
  if (!block)
    return true;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = handedOut.find(block);
  if (it == handedOut.end())
    return false;
  BlockInfo info = it->second;
  handedOut.erase(it);
  inUse -= info.sizeClass;
  (info.managed ? pendingBlocks : freeBlocks)[{info.sizeClass, info.managed}].push_back(block);
  return true;
}

void DeviceMemoryPool::streamSynchronized() {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto &[key, blocks] : pendingBlocks) {
    std::vector<void *> &free = freeBlocks[key];
    free.insert(free.end(), blocks.begin(), blocks.end());
  }
  pendingBlocks.clear();
}

void DeviceMemoryPool::trim() {
  std::lock_guard<std::mutex> lock(mutex);
  for (FreeLists *lists : {&freeBlocks, &pendingBlocks}) {
    for (auto &[key, blocks] : *lists)
      for (void *block : blocks) {
        ownedBlocks.erase(reinterpret_cast<uintptr_t>(block));
        source.release(block, key.second);
      }
    lists->clear();
  }
}

uint64_t DeviceMemoryPool::bytesInUse() const {
  std::lock_guard<std::mutex> lock(mutex);
  return inUse;
}

bool DeviceMemoryPool::contains(const void *pointer) const {
  auto address = reinterpret_cast<uintptr_t>(pointer);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = ownedBlocks.upper_bound(address);
  if (it == ownedBlocks.begin())
    return false;
  --it;
  return address < it->first + it->second.sizeClass;
}

void DeviceMemoryPool::startReserving() {
  std::lock_guard<std::mutex> lock(mutex);
  reserving = true;
  reservation = {};
  handedOutWhileReserving.clear();
}

DeviceMemoryPool::Reservation DeviceMemoryPool::stopReserving() {
  std::lock_guard<std::mutex> lock(mutex);
  reserving = false;
  Reservation done = std::move(reservation);
  reservation = {};
  // A block still handed out stays its user's.
  for (void *block : handedOutWhileReserving)
    if (handedOut.count(block))
      ++done.stillInUse;
  for (FreeLists *lists : {&freeBlocks, &pendingBlocks})
    for (auto &[key, blocks] : *lists) {
      std::vector<void *> kept;
      for (void *block : blocks)
        (handedOutWhileReserving.count(block) ? done.blocks : kept).push_back(block);
      blocks = std::move(kept);
    }
  handedOutWhileReserving.clear();
  return done;
}

void DeviceMemoryPool::endReservation(const Reservation &ended) {
  std::lock_guard<std::mutex> lock(mutex);
  for (void *block : ended.blocks) {
    const BlockInfo &info = ownedBlocks.at(reinterpret_cast<uintptr_t>(block));
    freeBlocks[{info.sizeClass, info.managed}].push_back(block);
  }
}
