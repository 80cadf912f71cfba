//===- LowerDynamicExpandShape.cpp - Work around expand-strided-metadata --===//

#include "moec/Codegen/Common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_LOWERDYNAMICEXPANDSHAPE
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;

namespace {
struct DynamicExpandShapeToReinterpretCast : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    MemRefType resultType = op.getResultType();
    bool hasSplitDynamicGroup = llvm::any_of(op.getReassociationIndices(), [&](auto group) {
      return llvm::count_if(group, [&](int64_t dim) { return resultType.isDynamicDim(dim); }) > 1;
    });
    if (!hasSplitDynamicGroup)
      return failure();

    Location loc = op.getLoc();
    auto metadata = memref::ExtractStridedMetadataOp::create(rewriter, loc, op.getSrc());
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    SmallVector<OpFoldResult> strides(resultType.getRank());
    // Within a group, the innermost dimension keeps the source dimension's stride and each
    // outer one strides over the sizes inside it.
    for (auto [sourceDim, group] : llvm::enumerate(op.getReassociationIndices())) {
      Value stride = metadata.getStrides()[sourceDim];
      for (int64_t dim : llvm::reverse(group)) {
        strides[dim] = stride;
        stride = arith::MulIOp::create(
            rewriter, loc, stride, getValueOrCreateConstantIndexOp(rewriter, loc, sizes[dim]));
      }
    }
    // Where the result type fixes a stride or the offset, the cast must say so statically.
    SmallVector<int64_t> staticStrides;
    int64_t staticOffset;
    if (failed(resultType.getStridesAndOffset(staticStrides, staticOffset)))
      return failure();
    for (auto [stride, staticStride] : llvm::zip(strides, staticStrides))
      if (!ShapedType::isDynamic(staticStride))
        stride = rewriter.getIndexAttr(staticStride);
    OpFoldResult offset = ShapedType::isDynamic(staticOffset)
                              ? OpFoldResult(metadata.getOffset())
                              : OpFoldResult(rewriter.getIndexAttr(staticOffset));
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(op, resultType,
                                                           metadata.getBaseBuffer(), offset,
                                                           sizes, strides);
    return success();
  }
};

struct LowerDynamicExpandShape
    : moec::impl::LowerDynamicExpandShapeBase<LowerDynamicExpandShape> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DynamicExpandShapeToReinterpretCast>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
