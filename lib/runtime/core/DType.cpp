//===- DType.cpp - Element types of model inputs and outputs --------------===//

#include "DType.h"

using namespace moec::rt;

namespace {
struct DTypeTraits {
  std::string_view name;
  size_t size;
  // numpy has no bfloat16; "bfloat16" is this runtime's own descr for it.
  std::string_view npyDescr;
};

// Indexed by DType.
constexpr DTypeTraits kTraits[kNumDTypes] = {
    {"float32", 4, "<f4"}, {"float16", 2, "<f2"}, {"bfloat16", 2, "bfloat16"},
    {"float64", 8, "<f8"}, {"int8", 1, "|i1"},    {"int16", 2, "<i2"},
    {"int32", 4, "<i4"},   {"int64", 8, "<i8"},   {"uint8", 1, "|u1"},
    {"uint16", 2, "<u2"},  {"uint32", 4, "<u4"},  {"uint64", 8, "<u8"},
    {"bool", 1, "|b1"},
};

const DTypeTraits &traits(DType dtype) { return kTraits[static_cast<int>(dtype)]; }
} // namespace

std::string_view moec::rt::dtypeName(DType dtype) { return traits(dtype).name; }

size_t moec::rt::dtypeSize(DType dtype) { return traits(dtype).size; }

std::string_view moec::rt::npyDescr(DType dtype) { return traits(dtype).npyDescr; }

bool moec::rt::dtypeFromName(std::string_view name, DType &dtype) {
  for (int i = 0; i < kNumDTypes; ++i) {
    if (kTraits[i].name == name) {
      dtype = static_cast<DType>(i);
      return true;
    }
  }
  return false;
}
