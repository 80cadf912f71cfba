//===- Passes.h - moe.layer to kernel-level ops, and their precision ------===//

#ifndef MOEC_PASSES_DECOMPOSE_PASSES_H
#define MOEC_PASSES_DECOMPOSE_PASSES_H

#include "mlir/Pass/Pass.h"

namespace moec {

#define GEN_PASS_DECL
#include "passes/decompose/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/decompose/Passes.h.inc"

} // namespace moec

#endif // MOEC_PASSES_DECOMPOSE_PASSES_H
