//===- Passes.h - Raising MoE layers from the onnx level to moe.layer -----===//

#ifndef MOEC_PASSES_RAISE_PASSES_H
#define MOEC_PASSES_RAISE_PASSES_H

#include "mlir/Pass/Pass.h"

namespace moec {

#define GEN_PASS_DECL
#include "passes/raise/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/raise/Passes.h.inc"

} // namespace moec

#endif // MOEC_PASSES_RAISE_PASSES_H
