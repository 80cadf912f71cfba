//===- Passes.h - Quantization of expert weights --------------------------===//

#ifndef MOEC_PASSES_OPTIMIZE_QUANTIZE_PASSES_H
#define MOEC_PASSES_OPTIMIZE_QUANTIZE_PASSES_H

#include "mlir/Pass/Pass.h"

namespace moec {

#define GEN_PASS_DECL
#include "passes/optimize/quantize/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/optimize/quantize/Passes.h.inc"

} // namespace moec

#endif // MOEC_PASSES_OPTIMIZE_QUANTIZE_PASSES_H
