//===- NpyFuzzer.cpp - libFuzzer over the executables' .npy reader --------===//
//
// Emitted executables read their inputs from .npy files a user hands them: the parser must
// reject any byte string with an error message, never crash or read out of bounds.
//
//===----------------------------------------------------------------------===//

#include "core/Npy.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  moec::rt::NpyArray array;
  (void)moec::rt::parseNpy(data, size, array);
  return 0;
}
