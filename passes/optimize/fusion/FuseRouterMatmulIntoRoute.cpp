//===- FuseRouterMatmulIntoRoute.cpp - The router logits in moe.route -----===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Optimize/Fusion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_FUSEROUTERMATMULINTOROUTE
#include "passes/optimize/fusion/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

/// The router bias that `init` (the router matmul's accumulator) starts the logits from:
/// null for zeros, failure for anything else.
static FailureOr<Value> routerBiasOf(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
    if (matchPattern(fill.value(), m_AnyZeroFloat()))
      return Value();
    return failure();
  }
  // The bias [E] broadcast over the tokens.
  if (auto broadcast = init.getDefiningOp<linalg::BroadcastOp>();
      broadcast && broadcast.getDimensions() == ArrayRef<int64_t>{0})
    return broadcast.getInput();
  return failure();
}

namespace {
/// `route(matmul(x, transpose(router)) [+ bias])` -> `route(x) router(router) router_bias`,
/// the logits matmul as moec-decompose-moe-layers emits it.
struct FuseRouterMatmul : OpRewritePattern<RouteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteOp route, PatternRewriter &rewriter) const override {
    if (route.getRouterWeight())
      return rewriter.notifyMatchFailure(route, "the route computes its logits already");
    auto matmul = route.getInput().getDefiningOp<linalg::MatmulOp>();
    if (!matmul)
      return rewriter.notifyMatchFailure(route, "the logits are not a matmul (routing "
                                                "computed outside the layer)");
    if (!matmul->hasOneUse())
      return rewriter.notifyMatchFailure(route, "the logits have other readers");
    if (matmul.hasUserDefinedMaps())
      return rewriter.notifyMatchFailure(route, "the matmul transposes or broadcasts");
    Value tokens = matmul.getInputs()[0];
    auto transpose = matmul.getInputs()[1].getDefiningOp<linalg::TransposeOp>();
    if (!transpose || transpose.getPermutation() != ArrayRef<int64_t>{1, 0})
      return rewriter.notifyMatchFailure(route, "the matmul's weights are no transposed router");
    // The host kernel computes in f32; other types would round the logits differently.
    if (!llvm::all_of(
            TypeRange{tokens.getType(), transpose.getInput().getType(), route.getInput().getType()},
            [](Type type) { return getElementTypeOrSelf(type).isF32(); }))
      return rewriter.notifyMatchFailure(route, "the router matmul is not all f32");
    FailureOr<Value> bias = routerBiasOf(matmul.getOutputs()[0]);
    if (failed(bias))
      return rewriter.notifyMatchFailure(route, "the logits start from neither zeros nor a bias");
    rewriter.replaceOpWithNewOp<RouteOp>(route, route.getResultTypes(), tokens,
                                         transpose.getInput(), *bias, route.getScoreBias(),
                                         route.getRoutingAttr());
    return success();
  }
};

struct FuseRouterMatmulIntoRoute
    : moec::impl::FuseRouterMatmulIntoRouteBase<FuseRouterMatmulIntoRoute> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseRouterMatmul>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
