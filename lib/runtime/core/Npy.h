//===- Npy.h - Reading and writing numpy's .npy files -----------*- C++ -*-===//
//
// The parser is a pure function over bytes so that it can be fuzzed alone. It
// accepts format versions 1.0, 2.0 and 3.0, C order, and the little-endian
// dtypes of DType.h (bfloat16 spelled 'descr': 'bfloat16').
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_NPY_H
#define MOEC_LIB_RUNTIME_NPY_H

#include "DType.h"

#include <cstdint>
#include <string>
#include <vector>

namespace moec::rt {

struct NpyArray {
  DType dtype = DType::Float32;
  std::vector<int64_t> shape;
  // The element data inside the parsed buffer: exactly dataSize bytes, not
  // necessarily aligned.
  const uint8_t *data = nullptr;
  size_t dataSize = 0;
};

// Parses a whole .npy file held in memory. Returns "" on success, else why the
// bytes are not an acceptable .npy file (and `array` is unspecified).
std::string parseNpy(const uint8_t *bytes, size_t size, NpyArray &array);

// The header (magic through padding) of an .npy file holding `dtype` and
// `shape`: version 1.0 if it fits, else 2.0; padded to a multiple of 64 bytes.
std::string makeNpyHeader(DType dtype, const std::vector<int64_t> &shape);

// Writes an .npy file; `data` holds the elements in row-major order. Returns
// "" on success, else the reason (and removes what it wrote).
std::string writeNpyFile(const std::string &path, DType dtype, const std::vector<int64_t> &shape,
                         const void *data);

// Reads a whole file into `bytes`. Returns "" on success, else the reason.
std::string readFile(const std::string &path, std::vector<uint8_t> &bytes);

// The number of elements of `shape`, or -1 if it overflows int64_t.
int64_t numElements(const std::vector<int64_t> &shape);

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_NPY_H
