//===- ShortcutPermuteForFewTokens.cpp - Decode without the sort ----------===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Optimize/Fusion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_SHORTCUTPERMUTEFORFEWTOKENS
#include "passes/optimize/fusion/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

namespace {
/// Builds the sorted-token layout of a few pairs by counting, as `moe.permute` with
/// block size 1 lays it out: no histogram, prefix sum or scatter kernel, only small
/// comparison loops in the calling code.
class RankedLayoutBuilder {
public:
  RankedLayoutBuilder(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  /// (sorted_ids, expert_offsets) of `expertIds` (`[T, k]`, every id an expert).
  std::pair<Value, Value> build(Value expertIds, int64_t numExperts, Type sortedType) {
    auto idsType = cast<RankedTensorType>(expertIds.getType());
    int64_t pairs = ShapedType::isDynamic(idsType.getDimSize(0))
                        ? ShapedType::kDynamic
                        : idsType.getDimSize(0) * idsType.getDimSize(1);
    Value ids = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({pairs}, b.getI32Type()), expertIds,
        ArrayRef<ReassociationIndices>{{0, 1}});
    Value slots = countBefore(ids);
    Value sorted = inverse(slots);
    if (sorted.getType() != sortedType)
      sorted = tensor::CastOp::create(b, loc, sortedType, sorted);
    return {sorted, offsets(ids, numExperts)};
  }

private:
  /// Slot of pair p: the pairs before it in expert order, ties in pair order (token order,
  /// as the permute keeps it).
  Value countBefore(Value ids) {
    return reduce(emptyLike(ids), ids, ids, [&](OpBuilder &nb, Value p, Value q, Value idP,
                                                Value idQ) {
      Value lower = arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::slt, idQ, idP);
      Value tie = arith::AndIOp::create(
          nb, loc, arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::eq, idQ, idP),
          arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ult, q, p));
      return arith::ExtUIOp::create(nb, loc, nb.getI32Type(),
                                    arith::OrIOp::create(nb, loc, lower, tie));
    });
  }

  /// sorted_ids[s]: the pair whose slot is s.
  Value inverse(Value slots) {
    return reduce(emptyLike(slots), Value(), slots,
                  [&](OpBuilder &nb, Value s, Value p, Value, Value slotOfP) {
                    Value here = arith::CmpIOp::create(
                        nb, loc, arith::CmpIPredicate::eq,
                        arith::IndexCastOp::create(nb, loc, nb.getIndexType(), slotOfP), s);
                    return arith::SelectOp::create(
                        nb, loc, here, arith::IndexCastOp::create(nb, loc, nb.getI32Type(), p),
                        arith::ConstantIntOp::create(nb, loc, nb.getI32Type(), 0));
                  });
  }

  /// expert_offsets[e]: the pairs of experts below e.
  Value offsets(Value ids, int64_t numExperts) {
    Value empty = tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{numExperts + 1},
                                          b.getI32Type());
    return reduce(empty, Value(), ids, [&](OpBuilder &nb, Value e, Value, Value, Value idP) {
      Value expert = arith::IndexCastOp::create(nb, loc, nb.getI32Type(), e);
      return arith::ExtUIOp::create(
          nb, loc, nb.getI32Type(),
          arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::slt, idP, expert));
    });
  }

  /// An uninitialized i32 tensor of `tensor`'s (1-D) shape.
  Value emptyLike(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    SmallVector<Value> dynamicSizes;
    if (type.isDynamicDim(0))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, tensor, 0));
    return tensor::EmptyOp::create(b, loc, type.getShape(), b.getI32Type(), dynamicSizes);
  }

  /// `result[i] = sum over j of term(i, j, byI[i], byJ[j])` in i32, into `empty` (1-D);
  /// `byI` may be null (the term reads none then).
  Value reduce(Value empty, Value byI, Value byJ,
               function_ref<Value(OpBuilder &, Value i, Value j, Value atI, Value atJ)> term) {
    Value zero = arith::ConstantIntOp::create(b, loc, b.getI32Type(), 0);
    Value init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty}).getResult(0);
    MLIRContext *context = b.getContext();
    AffineMap alongI = AffineMap::get(2, 0, getAffineDimExpr(0, context));
    AffineMap alongJ = AffineMap::get(2, 0, getAffineDimExpr(1, context));
    SmallVector<Value> inputs;
    SmallVector<AffineMap> maps;
    if (byI) {
      inputs.push_back(byI);
      maps.push_back(alongI);
    }
    inputs.push_back(byJ);
    maps.push_back(alongJ);
    maps.push_back(alongI);
    return linalg::GenericOp::create(
               b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
               {utils::IteratorType::parallel, utils::IteratorType::reduction},
               [&](OpBuilder &nb, Location, ValueRange args) {
                 Value i = linalg::IndexOp::create(nb, loc, 0);
                 Value j = linalg::IndexOp::create(nb, loc, 1);
                 Value atI = byI ? args[0] : Value();
                 Value atJ = args[inputs.size() - 1];
                 Value sum = arith::AddIOp::create(nb, loc, args.back(),
                                                   term(nb, i, j, atI, atJ));
                 linalg::YieldOp::create(nb, loc, sum);
               })
        .getResult(0);
  }

  OpBuilder &b;
  Location loc;
};

/// `moe.permute` of at most `max-tokens` tokens → the ranked layout; of a dynamic number of
/// tokens → an `scf.if` choosing between the two at run time.
struct ShortcutPermute : OpRewritePattern<PermuteOp> {
  ShortcutPermute(MLIRContext *context, int64_t maxTokens)
      : OpRewritePattern(context), maxTokens(maxTokens) {}

  LogicalResult matchAndRewrite(PermuteOp permute, PatternRewriter &rewriter) const override {
    if (permute.getBlockSize() != 1)
      return rewriter.notifyMatchFailure(permute, "segments padded to blocks");
    auto route = permute.getExpertIds().getDefiningOp<RouteOp>();
    // Capacity-limited routing drops pairs with ids that name no expert; the permute
    // leaves those out, the counting does not.
    if (!route || !route.getRouting().isDropless())
      return rewriter.notifyMatchFailure(permute, "the ids are not from dropless routing");
    Location loc = permute.getLoc();
    Value ids = permute.getExpertIds();
    int64_t staticTokens = cast<RankedTensorType>(ids.getType()).getDimSize(0);
    Type sortedType = permute.getSortedIds().getType();
    RankedLayoutBuilder ranked(rewriter, loc);
    if (!ShapedType::isDynamic(staticTokens)) {
      if (staticTokens > maxTokens)
        return rewriter.notifyMatchFailure(permute, "more tokens than max-tokens");
      auto [sorted, offsets] = ranked.build(ids, permute.getNumExperts(), sortedType);
      rewriter.replaceOp(permute, {sorted, offsets});
      return success();
    }
    Value tokens = tensor::DimOp::create(rewriter, loc, ids, 0);
    Value few = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ule, tokens,
                                      arith::ConstantIndexOp::create(rewriter, loc, maxTokens));
    auto choice = scf::IfOp::create(
        rewriter, loc, few,
        [&](OpBuilder &b, Location nested) {
          RankedLayoutBuilder inBranch(b, nested);
          auto [sorted, offsets] = inBranch.build(ids, permute.getNumExperts(), sortedType);
          scf::YieldOp::create(b, nested, ValueRange{sorted, offsets});
        },
        [&](OpBuilder &b, Location nested) {
          scf::YieldOp::create(b, nested, b.clone(*permute)->getResults());
        });
    rewriter.replaceOp(permute, choice.getResults());
    return success();
  }

  int64_t maxTokens;
};

struct ShortcutPermuteForFewTokens
    : moec::impl::ShortcutPermuteForFewTokensBase<ShortcutPermuteForFewTokens> {
  using Base::Base;

  void runOnOperation() override {
    if (maxTokens < 1) {
      getOperation()->emitError() << getArgument() << ": max-tokens must be positive, not "
                                  << static_cast<int64_t>(maxTokens);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<ShortcutPermute>(&getContext(), maxTokens);
    // The general path's permute, cloned into the scf.if, is new and stays.
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns), config)))
      signalPassFailure();
  }
};
} // namespace
