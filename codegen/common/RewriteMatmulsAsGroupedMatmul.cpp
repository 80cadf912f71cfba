//===- RewriteMatmulsAsGroupedMatmul.cpp - 16-bit GEMMs on the MoE kernels -===//
//
// A bf16/f16 linalg.matmul accumulates in its result type, 16 bits: a long dot product
// loses most of its digits, where ONNX runtimes and PyTorch accumulate in f32. A matmul is
// a grouped matmul with one expert (and a batch matmul one with an expert per batch), whose
// kernels accumulate in f32 and, on GPUs, run on tensor cores.
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/Common/Passes.h"
#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_REWRITEMATMULSASGROUPEDMATMUL
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// Whether `init` is a tensor filled with zero: the product then is the whole result.
static bool isZeroFilled(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.value(), m_AnyZeroFloat());
}

static bool isHalfFloat(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && (tensor.getElementType().isBF16() || tensor.getElementType().isF16());
}

/// Why `op` (a matmul or batch matmul) is not taken, or an empty string: both operands and
/// the result of one 16-bit float type, the default maps and casts, a zero-filled init.
template <typename MatmulOp>
static std::string whyNotRewritten(MatmulOp op) {
  auto lhsType = dyn_cast<RankedTensorType>(op.getInputs()[0].getType());
  auto rhsType = dyn_cast<RankedTensorType>(op.getInputs()[1].getType());
  auto resultType = dyn_cast<RankedTensorType>(op.getOutputs()[0].getType());
  if (!lhsType || !rhsType || !resultType)
    return "not on ranked tensors";
  Type element = lhsType.getElementType();
  if (!element.isBF16() && !element.isF16())
    return "not bf16 or f16";
  if (rhsType.getElementType() != element || resultType.getElementType() != element)
    return "mixed element types";
  if (op.hasUserDefinedMaps())
    return "transposed or broadcast operands";
  if (op.getCast() != linalg::TypeFn::cast_signed)
    return "unsigned cast";
  if (!isZeroFilled(op.getOutputs()[0]))
    return "accumulates into a tensor that is not zero";
  return "";
}

/// `i * rows` as i32 for i = 0 .. count: the segment offsets of `count` equal segments.
static Value equalSegmentOffsets(OpBuilder &builder, Location loc, Value rows, int64_t count) {
  Value rowsI32 = arith::IndexCastOp::create(builder, loc, builder.getI32Type(), rows);
  SmallVector<Value> offsets;
  for (int64_t i = 0; i <= count; ++i) {
    Value index = arith::ConstantIntOp::create(builder, loc, builder.getI32Type(), i);
    offsets.push_back(arith::MulIOp::create(builder, loc, index, rowsI32));
  }
  return tensor::FromElementsOp::create(builder, loc, offsets);
}

static Value createGroupedMatmul(OpBuilder &builder, Location loc, Value rows, Value weights,
                                 Value offsets) {
  auto rowsType = cast<RankedTensorType>(rows.getType());
  auto weightsType = cast<RankedTensorType>(weights.getType());
  auto resultType =
      RankedTensorType::get({rowsType.getDimSize(0), weightsType.getDimSize(2)},
                            rowsType.getElementType());
  return moec::moe::GroupedMatmulOp::create(builder, loc, resultType, rows, weights, offsets,
                                            /*sorted_ids=*/nullptr, /*bias=*/nullptr,
                                            /*scales=*/nullptr, /*zero_points=*/nullptr,
                                            /*combine_ids=*/nullptr, /*combine_weights=*/nullptr,
                                            IntegerAttr(), moec::moe::ExpertAttr());
}

namespace {
/// A 16-bit contraction written as linalg.generic (legalization writes batched and
/// broadcast MatMuls so) → the named op it is, which the patterns below take.
struct NameHalfContraction : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
        !llvm::all_of(op->getOperandTypes(), isHalfFloat))
      return rewriter.notifyMatchFailure(op, "not a 16-bit binary op");
    if (!linalg::isaContractionOpInterface(op) || !isZeroFilled(op.getDpsInits()[0]))
      return rewriter.notifyMatchFailure(op, "not a zero-initialized contraction");
    // Upstream names a contraction of more batch dims (an ONNX MatMul of 4-D operands) an
    // invalid linalg.batch_matmul: at most one batch dim, m, n and k.
    if (op.getNumLoops() > 4)
      return rewriter.notifyMatchFailure(op, "more than one batch dim");
    return linalg::specializeGenericOp(rewriter, op);
  }
};

/// C[M, N] = A[M, K] · B[K, N] → one expert whose segment is all M rows.
struct MatmulAsOneExpert : OpRewritePattern<linalg::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::MatmulOp op, PatternRewriter &rewriter) const override {
    if (std::string why = whyNotRewritten(op); !why.empty())
      return rewriter.notifyMatchFailure(op, why);
    Location loc = op.getLoc();
    Value lhs = op.getInputs()[0], rhs = op.getInputs()[1];
    auto rhsType = cast<RankedTensorType>(rhs.getType());
    Value weights = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({1, rhsType.getDimSize(0), rhsType.getDimSize(1)},
                              rhsType.getElementType()),
        rhs, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    Value rows = tensor::DimOp::create(rewriter, loc, lhs, 0);
    Value offsets = equalSegmentOffsets(rewriter, loc, rows, /*count=*/1);
    Value product = createGroupedMatmul(rewriter, loc, lhs, weights, offsets);
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, op.getResultTypes()[0], product);
    return success();
  }
};

/// C[b, M, N] = A[b, M, K] · B[b, K, N] → b experts, each with its M rows of A stacked.
struct BatchMatmulAsExperts : OpRewritePattern<linalg::BatchMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::BatchMatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (std::string why = whyNotRewritten(op); !why.empty())
      return rewriter.notifyMatchFailure(op, why);
    Location loc = op.getLoc();
    Value lhs = op.getInputs()[0], rhs = op.getInputs()[1];
    auto lhsType = cast<RankedTensorType>(lhs.getType());
    auto resultType = cast<RankedTensorType>(op.getResultTypes()[0]);
    int64_t batch = lhsType.getDimSize(0);
    // The offsets are one constant per expert: the batch must be known.
    if (ShapedType::isDynamic(batch))
      return rewriter.notifyMatchFailure(op, "dynamic batch");
    Value stacked = tensor::CollapseShapeOp::create(rewriter, loc, lhs,
                                                    ArrayRef<ReassociationIndices>{{0, 1}, {2}});
    Value rows = tensor::DimOp::create(rewriter, loc, lhs, 1);
    Value offsets = equalSegmentOffsets(rewriter, loc, rows, batch);
    Value product = createGroupedMatmul(rewriter, loc, stacked, rhs, offsets);
    SmallVector<OpFoldResult> shape = {rewriter.getIndexAttr(batch), OpFoldResult(rows),
                                       rewriter.getIndexAttr(resultType.getDimSize(2))};
    if (!lhsType.isDynamicDim(1))
      shape[1] = rewriter.getIndexAttr(lhsType.getDimSize(1));
    Value result = tensor::ExpandShapeOp::create(rewriter, loc, resultType, product,
                                                 ArrayRef<ReassociationIndices>{{0, 1}, {2}},
                                                 shape);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RewriteMatmulsAsGroupedMatmul
    : moec::impl::RewriteMatmulsAsGroupedMatmulBase<RewriteMatmulsAsGroupedMatmul> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<NameHalfContraction, MatmulAsOneExpert, BatchMatmulAsExperts>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
