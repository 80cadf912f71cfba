//===- QuantizationProbe.h - Error of quantized experts on a random probe -===//
//
// What `moec --quantize --report` prints per layer: the relative L2 error that quantization
// causes in the experts' output, measured on random tokens, without calibration data.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_OPTIMIZE_QUANTIZE_QUANTIZATIONPROBE_H
#define MOEC_PASSES_OPTIMIZE_QUANTIZE_QUANTIZATIONPROBE_H

#include "moec/Dialect/MoE/MoE.h"

#include <cstdint>
#include <vector>

namespace moec {

/// Stacked expert weights `[E, K, N]`: f32 (`values`, one value standing for all when
/// `splat`), or quantized integers with one scale per column for every `groupRows` rows:
/// signed, or unsigned with as many `zeroPoints` as scales; or (`fp8`) e4m3 bytes with one
/// scale per block of `groupRows` rows and `groupColumns` columns.
struct ProbeWeights {
  int64_t experts, rows, columns;
  const float *values = nullptr;
  bool splat = false;
  const int8_t *quantized = nullptr;
  const float *scales = nullptr;
  const uint8_t *zeroPoints = nullptr;
  int64_t groupRows = 1;
  bool fp8 = false;
  int64_t groupColumns = 1;

  /// Expert `e`'s `[K, N]` weights in f32.
  std::vector<float> expert(int64_t e) const;
};

/// The relative L2 error, `|y_q - y| / |y|`, of the experts' output on `tokens` random
/// tokens (normal, fixed seed) that every expert takes with weight 1 / E: the router is not
/// quantized, so any routing picks the same experts before and after. `up` and `down` hold
/// the f32 weights, `quantizedUp` and `quantizedDown` the same weights after quantization
/// (either may be the f32 weights, when that one stays f32). Biases are left out.
double probeExpertsError(moe::ExpertAttr expert, const ProbeWeights &up,
                         const ProbeWeights &down, const ProbeWeights &quantizedUp,
                         const ProbeWeights &quantizedDown, int64_t tokens);

} // namespace moec

#endif // MOEC_PASSES_OPTIMIZE_QUANTIZE_QUANTIZATIONPROBE_H
