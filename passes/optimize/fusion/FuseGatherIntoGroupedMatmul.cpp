//===- FuseGatherIntoGroupedMatmul.cpp - The token gather as GEMM prologue ===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Optimize/Fusion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_FUSEGATHERINTOGROUPEDMATMUL
#include "passes/optimize/fusion/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

namespace {
/// `grouped_matmul(gather_rows(x, ids, R))` -> `grouped_matmul(x) gather ids, R`.
struct FuseGather : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp matmul, PatternRewriter &rewriter) const override {
    auto gather = matmul.getInput().getDefiningOp<GatherRowsOp>();
    if (!gather)
      return rewriter.notifyMatchFailure(matmul, "the input is not a gather of rows");
    if (matmul.getSortedIds())
      return rewriter.notifyMatchFailure(matmul, "the grouped matmul gathers already");
    rewriter.replaceOpWithNewOp<GroupedMatmulOp>(
        matmul, matmul.getType(), gather.getTokens(), matmul.getWeights(),
        matmul.getExpertOffsets(), gather.getSortedIds(), matmul.getBias(), matmul.getScales(),
        matmul.getZeroPoints(), matmul.getCombineIds(), matmul.getCombineWeights(),
        gather.getRowsPerTokenAttr(), matmul.getExpertAttr());
    return success();
  }
};

struct FuseGatherIntoGroupedMatmul
    : moec::impl::FuseGatherIntoGroupedMatmulBase<FuseGatherIntoGroupedMatmul> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseGather>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
