//===- GroupedMatmulToBF16.cpp - Expert GEMMs of f32 models in bf16 -------===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Decompose/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cstring>

namespace moec {
#define GEN_PASS_DEF_GROUPEDMATMULTOBF16
#include "passes/decompose/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

/// `bits` (an f32) rounded to the nearest bf16, ties to even, as bit patterns. NaNs stay
/// NaNs (quieted: the rounding could otherwise carry a payload into infinity).
static uint16_t roundToBF16(uint32_t bits) {
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  return static_cast<uint16_t>((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

/// The f32 constant `elements` as bf16 of the same shape: a splat stays a splat, dense
/// elements stay dense, a resource (the weights of an imported model) becomes a new
/// resource named after the old one. Nothing when the data is not at hand (an elided
/// resource).
static std::optional<ElementsAttr> roundConstant(ElementsAttr elements) {
  auto type = cast<ShapedType>(elements.getType()).clone(BFloat16Type::get(elements.getContext()));
  auto toBF16 = [](float value) {
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return roundToBF16(bits);
  };
  auto bf16Value = [&](float value) {
    return APFloat(APFloat::BFloat(), APInt(16, toBF16(value)));
  };
  if (auto dense = dyn_cast<DenseElementsAttr>(elements)) {
    if (dense.isSplat())
      return ElementsAttr(DenseElementsAttr::get(type, bf16Value(dense.getSplatValue<float>())));
    SmallVector<APFloat> values;
    for (float value : dense.getValues<float>())
      values.push_back(bf16Value(value));
    return ElementsAttr(DenseElementsAttr::get(type, values));
  }
  auto resource = dyn_cast<DenseResourceElementsAttr>(elements);
  if (!resource || !resource.getRawHandle().getBlob())
    return std::nullopt;
  ArrayRef<char> bytes = resource.getRawHandle().getBlob()->getData();
  int64_t count = elements.getNumElements();
  if (static_cast<int64_t>(bytes.size()) != count * 4)
    return std::nullopt;
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(count * 2, alignof(uint64_t));
  MutableArrayRef<char> out = blob.getMutableData();
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, bytes.data() + i * 4, 4);
    uint16_t rounded = roundToBF16(bits);
    std::memcpy(out.data() + i * 2, &rounded, 2);
  }
  std::string name = (resource.getRawHandle().getKey() + "_bf16").str();
  return ElementsAttr(DenseResourceElementsAttr::get(type, name, std::move(blob)));
}

/// The input of `generic` if it only converts each element with one `CastOp` (extf,
/// truncf), else null.
template <typename CastOp>
static Value elementCastSource(linalg::GenericOp generic) {
  if (!generic || generic.getNumDpsInputs() != 1 || generic.getNumResults() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return Value();
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 2 || !isa<CastOp>(body.front()) ||
      body.front().getOperand(0) != body.getArgument(0) ||
      body.getTerminator()->getOperand(0) != body.front().getResult(0))
    return Value();
  return generic.getDpsInputs()[0];
}

/// `tensor` with elements of `elementType`: folded now when it is a constant (or a
/// constant reshaped to one expert, as moec-decompose-moe-layers passes shared experts),
/// else an elementwise linalg.generic (truncf or extf) that runs with the model.
static Value convertElements(PatternRewriter &rewriter, Location loc, Value tensor,
                             FloatType elementType) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto constant = tensor.getDefiningOp<arith::ConstantOp>();
  if (constant && elementType.isBF16() && type.getElementType().isF32())
    if (auto elements = dyn_cast<ElementsAttr>(constant.getValue()))
      if (std::optional<ElementsAttr> rounded = roundConstant(elements))
        return arith::ConstantOp::create(rewriter, loc, cast<TypedAttr>(*rounded));
  if (auto expand = tensor.getDefiningOp<tensor::ExpandShapeOp>();
      expand && expand.getSrc().getDefiningOp<arith::ConstantOp>()) {
    Value source = convertElements(rewriter, loc, expand.getSrc(), elementType);
    return tensor::ExpandShapeOp::create(rewriter, loc, type.clone(elementType), source,
                                         expand.getReassociationIndices(),
                                         expand.getMixedOutputShape());
  }

  Value init = tensor::EmptyOp::create(rewriter, loc, tensor::getMixedSizes(rewriter, loc, tensor),
                                       elementType);
  AffineMap identity = rewriter.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iterators(type.getRank(), utils::IteratorType::parallel);
  bool widen = elementType.getWidth() > type.getElementType().getIntOrFloatBitWidth();
  auto generic = linalg::GenericOp::create(
      rewriter, loc, init.getType(), tensor, init, ArrayRef<AffineMap>{identity, identity},
      iterators, [&](OpBuilder &b, Location bodyLoc, ValueRange args) {
        Value converted =
            widen ? arith::ExtFOp::create(b, bodyLoc, elementType, args[0]).getResult()
                  : arith::TruncFOp::create(b, bodyLoc, elementType, args[0]).getResult();
        linalg::YieldOp::create(b, bodyLoc, converted);
      });
  return generic.getResult(0);
}

namespace {
struct GroupedMatmulInBF16 : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    if (!getElementTypeOrSelf(op.getInput()).isF32() ||
        !getElementTypeOrSelf(op.getWeights()).isF32())
      return rewriter.notifyMatchFailure(op, "not an f32 product of f32 weights");
    // The combine sums the rows in f32 on the host only (the fusion runs there only).
    if (op.getCombineWeights())
      return rewriter.notifyMatchFailure(op, "the grouped matmul combines its rows");
    Location loc = op.getLoc();
    FloatType bf16 = rewriter.getBF16Type();
    auto toBF16 = [&](Value tensor) {
      return tensor ? convertElements(rewriter, loc, tensor, bf16) : Value();
    };
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    auto product = GroupedMatmulOp::create(
        rewriter, loc, resultType.clone(bf16), toBF16(op.getInput()), toBF16(op.getWeights()),
        op.getExpertOffsets(), op.getSortedIds(), toBF16(op.getBias()), op.getScales(),
        op.getZeroPoints(), /*combine_ids=*/nullptr, /*combine_weights=*/nullptr,
        op.getRowsPerTokenAttr(), op.getExpertAttr());
    rewriter.replaceOp(op, convertElements(rewriter, loc, product.getResult(),
                                           rewriter.getF32Type()));
    return success();
  }
};

/// Rounding to bf16 what was widened from bf16 gives the bf16 tensor back exactly: the up
/// projection's result feeds the down projection without an f32 copy.
struct FoldRoundingOfWidenedBF16 : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::GenericOp op, PatternRewriter &rewriter) const override {
    Value wide = elementCastSource<arith::TruncFOp>(op);
    if (!wide || !getElementTypeOrSelf(op.getResult(0)).isBF16())
      return rewriter.notifyMatchFailure(op, "not a rounding to bf16");
    Value narrow = elementCastSource<arith::ExtFOp>(wide.getDefiningOp<linalg::GenericOp>());
    if (!narrow || narrow.getType() != op.getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "not rounding a widened bf16 tensor");
    rewriter.replaceOp(op, narrow);
    return success();
  }
};

struct GroupedMatmulToBF16 : moec::impl::GroupedMatmulToBF16Base<GroupedMatmulToBF16> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<GroupedMatmulInBF16, FoldRoundingOfWidenedBF16>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
