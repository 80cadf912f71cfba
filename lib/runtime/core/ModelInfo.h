//===- ModelInfo.h - The compiled model's description -----------*- C++ -*-===//
//
// Parses moec_model_info (docs/runtime-abi.md) and checks concrete input
// shapes against it.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_MODELINFO_H
#define MOEC_LIB_RUNTIME_MODELINFO_H

#include "DType.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace moec::rt {

struct Dim {
  static constexpr int64_t kDynamic = -1;
  // The static size, or kDynamic.
  int64_t size = kDynamic;
  // For a dynamic dimension its dim_param name, or "?" when it has none;
  // empty for a static one.
  std::string name;

  bool isNamed() const { return size == kDynamic && name != "?"; }
};

struct TensorSpec {
  std::string name;
  DType dtype = DType::Float32;
  std::vector<Dim> dims;

  // "[n, 4]": static sizes and dim_param names.
  std::string shapeString() const;
};

struct ModelInfo {
  std::string target;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;

  // Compiled for a GPU (sm_90a, ...): runs through the CUDA driver.
  bool isGpuTarget() const { return target != "host"; }
};

// Parses the text of moec_model_info. Returns "" on success, else the line at
// fault and why.
std::string parseModelInfo(std::string_view text, ModelInfo &info);

// "[5, 4]".
std::string shapeString(const std::vector<int64_t> &shape);

// Checks the inputs of one run against their specs, one at a time, and binds
// each named dimension to the first size it meets.
class ShapeBinder {
public:
  // Returns "" if an input of `dtype` and `shape` fits `spec`, else why not.
  std::string bind(const TensorSpec &spec, DType dtype, const std::vector<int64_t> &shape);

private:
  struct Binding {
    int64_t size;
    std::string input;
  };
  std::map<std::string, Binding> bindings;
};

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_MODELINFO_H
