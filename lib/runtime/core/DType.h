//===- DType.h - Element types of model inputs and outputs ------*- C++ -*-===//

#ifndef MOEC_LIB_RUNTIME_DTYPE_H
#define MOEC_LIB_RUNTIME_DTYPE_H

#include "moec-runtime/moec_model.h"

#include <cstddef>
#include <string_view>

namespace moec::rt {

// The same numbering as the C API's moec_dtype, so values cross it unchanged.
enum class DType : int {
  Float32 = MOEC_FLOAT32,
  Float16 = MOEC_FLOAT16,
  BFloat16 = MOEC_BFLOAT16,
  Float64 = MOEC_FLOAT64,
  Int8 = MOEC_INT8,
  Int16 = MOEC_INT16,
  Int32 = MOEC_INT32,
  Int64 = MOEC_INT64,
  UInt8 = MOEC_UINT8,
  UInt16 = MOEC_UINT16,
  UInt32 = MOEC_UINT32,
  UInt64 = MOEC_UINT64,
  Bool = MOEC_BOOL,
};
constexpr int kNumDTypes = MOEC_BOOL + 1;

// The name in model info records and messages: "float32", "bool", ...
std::string_view dtypeName(DType dtype);
// The dtype named `name`; false if there is none.
bool dtypeFromName(std::string_view name, DType &dtype);
size_t dtypeSize(DType dtype);
// The .npy 'descr' this runtime writes and reads first: "<f4", "|b1", ...
std::string_view npyDescr(DType dtype);

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_DTYPE_H
