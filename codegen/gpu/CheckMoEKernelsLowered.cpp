//===- CheckMoEKernelsLowered.cpp - No moe op may reach bufferization -----===//

#include "moec/Codegen/GPU/Passes.h"
#include "moec/Dialect/MoE/MoE.h"

namespace moec {
#define GEN_PASS_DEF_CHECKMOEKERNELSLOWERED
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;

namespace {
struct CheckMoEKernelsLowered : moec::impl::CheckMoEKernelsLoweredBase<CheckMoEKernelsLowered> {
  void runOnOperation() override {
    bool found = false;
    getOperation().walk([&](Operation *op) {
      // Run-time checks stay until the host code's lowering (moec-lower-runtime-checks).
      if (!isa<moec::moe::MoEDialect>(op->getDialect()) || isa<moec::moe::CheckOp>(op))
        return;
      op->emitError() << "'" << op->getName()
                      << "' has no lowering for this target yet (the GPU pipeline lowers the "
                         "kernel-level moe ops before bufferization)";
      found = true;
    });
    if (found)
      signalPassFailure();
  }
};
} // namespace
