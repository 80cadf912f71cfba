//===- FuseCombineIntoGroupedMatmul.cpp - The combine as GEMM epilogue ----===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Optimize/Fusion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_FUSECOMBINEINTOGROUPEDMATMUL
#include "passes/optimize/fusion/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

namespace {
/// `unpermute(grouped_matmul(x), ids, w)` -> `grouped_matmul(x) combine(ids, w)`.
struct FuseCombine : OpRewritePattern<UnpermuteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(UnpermuteOp unpermute, PatternRewriter &rewriter) const override {
    auto matmul = unpermute.getExpertOut().getDefiningOp<GroupedMatmulOp>();
    if (!matmul)
      return rewriter.notifyMatchFailure(unpermute, "the expert rows are not a grouped matmul");
    if (matmul.getCombineWeights())
      return rewriter.notifyMatchFailure(unpermute, "the grouped matmul combines already");
    // Another reader needs the rows in the sorted layout, which the fused GEMM no longer
    // writes.
    if (!matmul->hasOneUse())
      return rewriter.notifyMatchFailure(unpermute, "the expert rows have other readers");
    rewriter.replaceOpWithNewOp<GroupedMatmulOp>(
        unpermute, unpermute.getType(), matmul.getInput(), matmul.getWeights(),
        matmul.getExpertOffsets(), matmul.getSortedIds(), matmul.getBias(), matmul.getScales(),
        matmul.getZeroPoints(), unpermute.getSortedIds(), unpermute.getWeights(), matmul.getRowsPerTokenAttr(),
        matmul.getExpertAttr());
    return success();
  }
};

struct FuseCombineIntoGroupedMatmul
    : moec::impl::FuseCombineIntoGroupedMatmulBase<FuseCombineIntoGroupedMatmul> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseCombine>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
