//===- Passes.h - Expert parallelism: experts placed on ranks -------------===//

#ifndef MOEC_PASSES_SHARD_PASSES_H
#define MOEC_PASSES_SHARD_PASSES_H

#include "mlir/Pass/Pass.h"

namespace moec {

#define GEN_PASS_DECL
#include "passes/optimize/shard/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/optimize/shard/Passes.h.inc"

} // namespace moec

#endif // MOEC_PASSES_SHARD_PASSES_H
