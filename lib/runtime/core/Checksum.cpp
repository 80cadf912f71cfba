//===- Checksum.cpp - The weights file checksum ---------------------------===//
//
// Four independent multiply-xorshift lanes over little-endian 8-byte words, so
// that the multiplies overlap and the function runs at memory speed; a
// murmur3-style finalizer folds the lanes and the length together. The exact
// definition (and a Python reference) is in docs/runtime-abi.md.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/checksum.h"

#include <algorithm>
#include <cstring>

namespace {
constexpr uint64_t kLaneSeed = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kWordMultiplier = 0xBF58476D1CE4E5B9ull;
constexpr int kLanes = 4;

uint64_t loadLittleEndian64(const unsigned char *bytes) {
  uint64_t word = 0;
  for (int i = 0; i < 8; ++i)
    word |= uint64_t(bytes[i]) << (8 * i);
  return word;
}

uint64_t mixWord(uint64_t lane, uint64_t word) {
  lane = (lane ^ word) * kWordMultiplier;
  return lane ^ (lane >> 32);
}

uint64_t finalize(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  return x ^ (x >> 33);
}
} // namespace

extern "C" void moec_checksum64_init(moec_checksum64_state *state) {
  for (int j = 0; j < kLanes; ++j)
    state->lanes[j] = kLaneSeed * uint64_t(j + 1);
  state->size = 0;
}

extern "C" void moec_checksum64_update(moec_checksum64_state *state, const void *data,
                                       size_t size) {
  // An empty piece changes nothing; and its data may be null, which memcpy must not get even
  // for zero bytes.
  if (size == 0)
    return;
  const auto *bytes = static_cast<const unsigned char *>(data);
  uint64_t *lanes = state->lanes;
  // Completes the word an earlier piece began.
  if (size_t pending = state->size % 8) {
    size_t taken = std::min(size, 8 - pending);
    std::memcpy(state->pending + pending, bytes, taken);
    state->size += taken;
    bytes += taken;
    size -= taken;
    if (state->size % 8)
      return;
    uint64_t word = state->size / 8 - 1;
    lanes[word % kLanes] = mixWord(lanes[word % kLanes], loadLittleEndian64(state->pending));
  }

  uint64_t word = state->size / 8;
  size_t numWords = size / 8;
  const unsigned char *end = bytes + 8 * numWords;
  // One word at a time up to lane 0, then four at a time: the lanes' multiplies overlap.
  for (; bytes != end && word % kLanes; bytes += 8, ++word)
    lanes[word % kLanes] = mixWord(lanes[word % kLanes], loadLittleEndian64(bytes));
  for (; end - bytes >= 8 * kLanes; bytes += 8 * kLanes, word += kLanes)
    for (int j = 0; j < kLanes; ++j)
      lanes[j] = mixWord(lanes[j], loadLittleEndian64(bytes + 8 * j));
  for (; bytes != end; bytes += 8, ++word)
    lanes[word % kLanes] = mixWord(lanes[word % kLanes], loadLittleEndian64(bytes));
  state->size += 8 * numWords;

  size_t tail = size % 8;
  std::memcpy(state->pending, bytes, tail);
  state->size += tail;
}

extern "C" uint64_t moec_checksum64_final(const moec_checksum64_state *state) {
  uint64_t lanes[kLanes];
  std::memcpy(lanes, state->lanes, sizeof(lanes));
  // The 1 to 7 trailing bytes, zero-padded, are the last word; the length,
  // folded in below, tells them apart from real zero bytes.
  if (size_t tail = state->size % 8) {
    unsigned char padded[8] = {};
    std::memcpy(padded, state->pending, tail);
    uint64_t word = state->size / 8;
    lanes[word % kLanes] = mixWord(lanes[word % kLanes], loadLittleEndian64(padded));
  }
  uint64_t hash = state->size;
  for (int j = 0; j < kLanes; ++j)
    hash = finalize(hash ^ lanes[j]);
  return hash;
}

extern "C" uint64_t moec_checksum64(const void *data, size_t size) {
  moec_checksum64_state state;
  moec_checksum64_init(&state);
  moec_checksum64_update(&state, data, size);
  return moec_checksum64_final(&state);
}
