//===- Passes.h - Fusions of the kernel-level moe ops ---------------------===//

#ifndef MOEC_PASSES_OPTIMIZE_FUSION_PASSES_H
#define MOEC_PASSES_OPTIMIZE_FUSION_PASSES_H

#include "mlir/Pass/Pass.h"

namespace moec {

#define GEN_PASS_DECL
#include "passes/optimize/fusion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/optimize/fusion/Passes.h.inc"

} // namespace moec

#endif // MOEC_PASSES_OPTIMIZE_FUSION_PASSES_H
