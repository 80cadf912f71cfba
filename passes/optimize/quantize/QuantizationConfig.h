//===- QuantizationConfig.h - Per layer and per weight quantization -------===//
//
// What `moec --quantize-config=FILE` reads (docs/quantization.md): JSON that overrides the
// quantization of `--quantize` and `--quantize-group` for named layers and their weights.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_OPTIMIZE_QUANTIZE_QUANTIZATIONCONFIG_H
#define MOEC_PASSES_OPTIMIZE_QUANTIZE_QUANTIZATIONCONFIG_H

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstdint>

namespace moec {

/// How one expert weight is quantized; 0 bits leave it in f32. Asymmetric: unsigned
/// integers with a zero point per group; else signed ones without. fp8 (8 bits): e4m3
/// values with a scale per block of groupSize rows and columns.
struct WeightScheme {
  unsigned bits = 0;
  int64_t groupSize = 128;
  bool asymmetric = false;
  bool fp8 = false;

  /// Whether the integers are unsigned, with zero points (fp8 has none).
  bool hasZeroPoints() const { return asymmetric && !fp8; }
};

/// The weights of a layer that a config names.
enum class ExpertWeight { Up, Down };

/// The scheme of every weight: a config's overrides by layer name, over the defaults.
class QuantizationConfig {
public:
  explicit QuantizationConfig(WeightScheme defaults) : defaults(defaults) {}

  /// Reads `text` (the file `path`) over `defaults`; the error names the file and what is
  /// wrong, in one line.
  static llvm::Expected<QuantizationConfig> parse(llvm::StringRef text, llvm::StringRef path,
                                                  WeightScheme defaults);

  /// The scheme of `weight` of the layer named `layer` ("" for a layer without a name).
  /// Marks the layer's entry as used.
  WeightScheme get(llvm::StringRef layer, ExpertWeight weight);

  /// The layers the config names that no get() has asked for, sorted.
  std::vector<std::string> getUnusedLayers() const;

private:
  struct LayerSchemes {
    WeightScheme up, down;
    bool used = false;
  };

  WeightScheme defaults;
  llvm::StringMap<LayerSchemes> layers;
};

} // namespace moec

#endif // MOEC_PASSES_OPTIMIZE_QUANTIZE_QUANTIZATIONCONFIG_H
