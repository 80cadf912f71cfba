//===- FuseActivationIntoGroupedMatmul.cpp - The activation as GEMM epilogue ===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Optimize/Fusion/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_FUSEACTIVATIONINTOGROUPEDMATMUL
#include "passes/optimize/fusion/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

namespace {
/// `expert_activation(grouped_matmul(...))` -> `grouped_matmul(...) expert <...>`.
struct FuseActivation : OpRewritePattern<ExpertActivationOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ExpertActivationOp activation,
                                PatternRewriter &rewriter) const override {
    auto matmul = activation.getInput().getDefiningOp<GroupedMatmulOp>();
    if (!matmul)
      return rewriter.notifyMatchFailure(activation, "the input is not a grouped matmul");
    if (matmul.getExpertAttr() || matmul.getCombineWeights())
      return rewriter.notifyMatchFailure(activation, "the grouped matmul has an epilogue");
    // Another reader needs the product before the activation, which the fused GEMM no
    // longer writes.
    if (!matmul->hasOneUse())
      return rewriter.notifyMatchFailure(activation, "the product has other readers");
    rewriter.replaceOpWithNewOp<GroupedMatmulOp>(
        activation, activation.getType(), matmul.getInput(), matmul.getWeights(),
        matmul.getExpertOffsets(), matmul.getSortedIds(), matmul.getBias(), matmul.getScales(),
        matmul.getZeroPoints(), /*combine_ids=*/nullptr, /*combine_weights=*/nullptr,
        matmul.getRowsPerTokenAttr(), activation.getExpert());
    return success();
  }
};

struct FuseActivationIntoGroupedMatmul
    : moec::impl::FuseActivationIntoGroupedMatmulBase<FuseActivationIntoGroupedMatmul> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseActivation>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
