//===- FuseElementwiseOps.cpp - Elementwise chains into single loops ------===//

#include "moec/Codegen/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_FUSEELEMENTWISEOPS
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;

namespace {
struct FuseElementwiseOps : moec::impl::FuseElementwiseOpsBase<FuseElementwiseOps> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    // A producer with other uses would be computed twice if fused; so would one fused into
    // a reduction (a contraction's operand, recomputed for every point of the dimension it
    // is not indexed by), which also hides the contraction from the patterns that
    // recognize matmuls.
    linalg::populateElementwiseOpsFusionPatterns(patterns, [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
      return producer && producer->hasOneUse() && consumer &&
             consumer.getNumReductionLoops() == 0;
    });
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
