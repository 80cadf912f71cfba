//===- ReassociateReductions.cpp - Let LLVM vectorize float reductions ----===//

#include "moec/Codegen/Host/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_REASSOCIATEREDUCTIONS
#include "codegen/host/Passes.h.inc"
} // namespace moec

using namespace mlir;

namespace {

/// The fast-math flags of `op`; an op built without the attribute has none.
arith::FastMathFlags getFastMathFlags(arith::ArithFastMathInterface op) {
  arith::FastMathFlagsAttr flags = op.getFastMathFlagsAttr();
  return flags ? flags.getValue() : arith::FastMathFlags::none;
}

/// Adds `reassoc` to the float op that combines each result of a linalg op with reduction
/// loops into its accumulator (the `arith.addf` of a sum, the `arith.maximumf` of a max).
/// LLVM's loop vectorizer keeps a float reduction in order, one scalar at a time, unless
/// the combining instruction allows reassociation.
struct ReassociateReductionCombiners : OpInterfaceRewritePattern<linalg::LinalgOp> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(linalg::LinalgOp op, PatternRewriter &rewriter) const override {
    if (op.getNumReductionLoops() == 0)
      return failure();
    SmallVector<arith::ArithFastMathInterface> combiners;
    Block::BlockArgListType accumulators = op.getRegionOutputArgs();
    for (unsigned position = 0; position < accumulators.size(); ++position) {
      SmallVector<Operation *> combinerOps;
      if (!matchReduction(accumulators, position, combinerOps) || combinerOps.size() != 1)
        continue;
      auto combiner = dyn_cast<arith::ArithFastMathInterface>(combinerOps.front());
      if (combiner &&
          !arith::bitEnumContainsAll(getFastMathFlags(combiner), arith::FastMathFlags::reassoc))
        combiners.push_back(combiner);
    }
    if (combiners.empty())
      return failure();
    for (arith::ArithFastMathInterface combiner : combiners) {
      arith::FastMathFlags flags = getFastMathFlags(combiner) | arith::FastMathFlags::reassoc;
      rewriter.modifyOpInPlace(combiner, [&] {
        combiner->setAttr(combiner.getFastMathAttrName(),
                          arith::FastMathFlagsAttr::get(getContext(), flags));
      });
    }
    return success();
  }
};

struct ReassociateReductionsPass
    : moec::impl::ReassociateReductionsBase<ReassociateReductionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ReassociateReductionCombiners>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
