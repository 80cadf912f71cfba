//===- Matmul.cpp - MatMul and Gemm ---------------------------------------===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Support/DebugStringHelper.h"

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

/// A zero-filled tensor of `type`, whose dynamic sizes are `sizes`.
static Value zeros(OpBuilder &b, Location loc, RankedTensorType type, ValueRange sizes) {
  Value empty = tensor::EmptyOp::create(b, loc, type, sizes);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// `lhs [M, K] @ rhs [K, N]` as linalg.matmul, the form the host code generator turns into
/// its GEMM kernel.
static Value matmul2D(OpBuilder &b, Location loc, Value lhs, Value rhs, Type elementType) {
  auto lhsType = llvm::cast<RankedTensorType>(lhs.getType());
  auto rhsType = llvm::cast<RankedTensorType>(rhs.getType());
  auto type = RankedTensorType::get({lhsType.getDimSize(0), rhsType.getDimSize(1)}, elementType);
  SmallVector<Value> sizes;
  if (type.isDynamicDim(0))
    sizes.push_back(tensor::DimOp::create(b, loc, lhs, 0));
  if (type.isDynamicDim(1))
    sizes.push_back(tensor::DimOp::create(b, loc, rhs, 1));
  return linalg::MatmulOp::create(b, loc, ValueRange{lhs, rhs},
                                  ValueRange{zeros(b, loc, type, sizes)})
      .getResult(0);
}

/// numpy's matmul in one linalg.generic: batch dimensions broadcast, a 1-D operand is a
/// vector (its dimension dropped from the result).
static Value matmulGeneric(OpBuilder &b, Location loc, Value lhs, Value rhs,
                           RankedTensorType resultType) {
  MLIRContext *context = b.getContext();
  auto lhsType = llvm::cast<RankedTensorType>(lhs.getType());
  auto rhsType = llvm::cast<RankedTensorType>(rhs.getType());
  int64_t lhsRank = lhsType.getRank(), rhsRank = rhsType.getRank();
  int64_t resultRank = resultType.getRank();
  bool hasM = lhsRank >= 2, hasN = rhsRank >= 2;
  int64_t batchRank = resultRank - hasM - hasN;
  // Loops: the result's dimensions, then the reduction K.
  int64_t numLoops = resultRank + 1;
  AffineExpr k = getAffineDimExpr(resultRank, context);
  AffineExpr m = hasM ? getAffineDimExpr(batchRank, context) : AffineExpr();
  AffineExpr n = hasN ? getAffineDimExpr(resultRank - 1, context) : AffineExpr();

  auto batchExprs = [&](RankedTensorType type, int64_t operandBatchRank) {
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < operandBatchRank; ++i) {
      int64_t loop = batchRank - operandBatchRank + i;
      bool broadcast = type.getDimSize(i) == 1 && resultType.getDimSize(loop) != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, context)
                                : getAffineDimExpr(loop, context));
    }
    return exprs;
  };
  SmallVector<AffineExpr> lhsExprs = batchExprs(lhsType, std::max<int64_t>(lhsRank - 2, 0));
  if (hasM)
    lhsExprs.push_back(m);
  lhsExprs.push_back(k);
  SmallVector<AffineExpr> rhsExprs = batchExprs(rhsType, std::max<int64_t>(rhsRank - 2, 0));
  rhsExprs.push_back(k);
  if (hasN)
    rhsExprs.push_back(n);
  SmallVector<AffineMap> maps = {
      AffineMap::get(numLoops, 0, lhsExprs, context),
      AffineMap::get(numLoops, 0, rhsExprs, context),
      // (Not a sub-map of the identity: that is null for a scalar result, a dot product.)
      AffineMap::get(numLoops, 0,
                     llvm::map_to_vector(llvm::seq<int64_t>(0, resultRank),
                                         [&](int64_t dim) { return getAffineDimExpr(dim, context); }),
                     context)};

  // Dynamic result sizes come from the operand that owns each dimension.
  SmallVector<Value> sizes;
  for (int64_t dim = 0; dim < resultRank; ++dim) {
    if (!resultType.isDynamicDim(dim))
      continue;
    if (hasN && dim == resultRank - 1) {
      sizes.push_back(tensor::DimOp::create(b, loc, rhs, rhsRank - 1));
    } else if (hasM && dim == batchRank) {
      sizes.push_back(tensor::DimOp::create(b, loc, lhs, lhsRank - 2));
    } else {
      // A batch dimension: from whichever operand has it not equal to 1.
      int64_t lhsDim = dim - (batchRank - (lhsRank - 2));
      Value source = lhs;
      int64_t sourceDim = lhsDim;
      if (lhsDim < 0 || lhsType.getDimSize(lhsDim) == 1) {
        source = rhs;
        sourceDim = dim - (batchRank - (rhsRank - 2));
      }
      sizes.push_back(tensor::DimOp::create(b, loc, source, sourceDim));
    }
  }
  SmallVector<utils::IteratorType> iterators(resultRank, utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  Value init = zeros(b, loc, resultType, sizes);
  return linalg::GenericOp::create(
             b, loc, resultType, ValueRange{lhs, rhs}, init, maps, iterators,
             [](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               Value product = arith::MulFOp::create(nested, nestedLoc, args[0], args[1]);
               Value sum = arith::AddFOp::create(nested, nestedLoc, args[2], product);
               linalg::YieldOp::create(nested, nestedLoc, sum);
             })
      .getResult(0);
}

namespace {
struct LegalizeMatMul : NodePattern {
  LegalizeMatMul(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("MatMul", converter, context) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    Value lhs = inputs[0], rhs = inputs[1];
    auto lhsType = llvm::dyn_cast<RankedTensorType>(lhs.getType());
    auto rhsType = llvm::dyn_cast<RankedTensorType>(rhs.getType());
    if (!lhsType || !rhsType)
      return node.fail("inputs must be ranked tensors");
    if (!llvm::isa<FloatType>(lhsType.getElementType()))
      return node.fail("only floating-point MatMul is supported, not " +
                       debugString(lhsType.getElementType()));
    RankedTensorType resultType = node.getResultType(0);
    // The loops run over K as the first input has it.
    int64_t lhsK = lhsType.getRank() - 1, rhsK = std::max<int64_t>(rhsType.getRank() - 2, 0);
    if (failed(requireDim(node, rewriter, loc, rhs, "B", rhsK, lhs, "A", lhsK, false)))
      return failure();

    // The common transformer case, activations [..., K] times a weight [K, N]: fold the
    // leading dimensions into M so that one 2-D GEMM does the work.
    if (rhsType.getRank() == 2 && lhsType.getRank() >= 2) {
      Value lhs2D = lhs;
      if (lhsType.getRank() > 2) {
        SmallVector<ReassociationIndices> collapse = {{}, {lhsType.getRank() - 1}};
        for (int64_t i = 0; i < lhsType.getRank() - 1; ++i)
          collapse[0].push_back(i);
        lhs2D = tensor::CollapseShapeOp::create(rewriter, loc, lhs, collapse);
        Value product = matmul2D(rewriter, loc, lhs2D, rhs, resultType.getElementType());
        SmallVector<OpFoldResult> outputShape;
        for (int64_t i = 0; i < lhsType.getRank() - 1; ++i)
          outputShape.push_back(tensor::getMixedSize(rewriter, loc, lhs, i));
        outputShape.push_back(tensor::getMixedSize(rewriter, loc, rhs, 1));
        auto expandedType = RankedTensorType::get(
            llvm::map_to_vector(outputShape,
                                [](OpFoldResult ofr) {
                                  std::optional<int64_t> size = getConstantIntValue(ofr);
                                  return size ? *size : ShapedType::kDynamic;
                                }),
            resultType.getElementType());
        Value expanded = tensor::ExpandShapeOp::create(rewriter, loc, expandedType, product,
                                                       collapse, outputShape);
        rewriter.replaceOp(node.getOp(), castToType(rewriter, loc, expanded, resultType));
        return success();
      }
      Value product = matmul2D(rewriter, loc, lhs2D, rhs, resultType.getElementType());
      rewriter.replaceOp(node.getOp(), castToType(rewriter, loc, product, resultType));
      return success();
    }
    // Operands of the same static batch dims (attention's [B, N, S, H]) as one batch dim,
    // a batched matmul that the 16-bit kernels take (accumulating in float32).
    int64_t batchRank = lhsType.getRank() - 2;
    if (batchRank > 1 && rhsType.getRank() == lhsType.getRank() &&
        lhsType.getShape().take_front(batchRank) == rhsType.getShape().take_front(batchRank) &&
        resultType.getShape().take_front(batchRank) == lhsType.getShape().take_front(batchRank) &&
        ShapedType::isStaticShape(lhsType.getShape().take_front(batchRank))) {
      SmallVector<ReassociationIndices> collapse = {
          llvm::to_vector(llvm::seq<int64_t>(0, batchRank)), {batchRank}, {batchRank + 1}};
      auto collapsed = [&](Value value) {
        return tensor::CollapseShapeOp::create(rewriter, loc, value, collapse).getResult();
      };
      Value lhs3D = collapsed(lhs), rhs3D = collapsed(rhs);
      auto product3DType = RankedTensorType::get(
          {cast<RankedTensorType>(lhs3D.getType()).getDimSize(0), resultType.getDimSize(batchRank),
           resultType.getDimSize(batchRank + 1)},
          resultType.getElementType());
      Value product = matmulGeneric(rewriter, loc, lhs3D, rhs3D, product3DType);
      SmallVector<OpFoldResult> outputShape = tensor::getMixedSizes(rewriter, loc, lhs);
      outputShape.back() = tensor::getMixedSize(rewriter, loc, rhs, batchRank + 1);
      rewriter.replaceOpWithNewOp<tensor::ExpandShapeOp>(node.getOp(), resultType, product,
                                                         collapse, outputShape);
      return success();
    }
    rewriter.replaceOp(node.getOp(), matmulGeneric(rewriter, loc, lhs, rhs, resultType));
    return success();
  }
};

/// Y = alpha * op(A) @ op(B) + beta * C, op transposing when transA / transB is set.
struct LegalizeGemm : NodePattern {
  LegalizeGemm(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("Gemm", converter, context) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    RankedTensorType resultType = node.getResultType(0);
    Type elementType = resultType.getElementType();
    if (!llvm::isa<FloatType>(elementType))
      return node.fail("only floating-point Gemm is supported");
    auto transposed = [&](Value value, bool transpose) -> Value {
      if (!transpose)
        return value;
      auto type = llvm::cast<RankedTensorType>(value.getType());
      auto resultType = RankedTensorType::get({type.getDimSize(1), type.getDimSize(0)},
                                              type.getElementType());
      SmallVector<Value> sizes;
      for (int64_t dim : {1, 0})
        if (type.isDynamicDim(dim))
          sizes.push_back(tensor::DimOp::create(rewriter, loc, value, dim));
      Value init = tensor::EmptyOp::create(rewriter, loc, resultType, sizes);
      return linalg::TransposeOp::create(rewriter, loc, value, init, ArrayRef<int64_t>{1, 0})
          .getResult()[0];
    };
    Value a = transposed(inputs[0], node->getIntAttr("transA", 0));
    Value b = transposed(inputs[1], node->getIntAttr("transB", 0));
    if (failed(requireDim(node, rewriter, loc, b, "op(B)", 0, a, "op(A)", 1, false)))
      return failure();
    Value product = matmul2D(rewriter, loc, a, b, elementType);
    product = castToType(rewriter, loc, product, resultType);

    double alpha = node->getFloatAttr("alpha", 1.0), beta = node->getFloatAttr("beta", 1.0);
    bool hasBias = node->hasInput(2) && beta != 0.0;
    if (alpha == 1.0 && !hasBias) {
      rewriter.replaceOp(node.getOp(), product);
      return success();
    }
    SmallVector<Value> operands = {product};
    if (hasBias)
      operands.push_back(inputs[2]);
    Value result = buildElementwise(
        node, rewriter, loc, resultType, operands, [&](OpBuilder &b, Location loc, ValueRange args) {
          Value acc = args[0];
          if (alpha != 1.0)
            acc = arith::MulFOp::create(
                b, loc, acc,
                arith::ConstantOp::create(b, loc, b.getFloatAttr(elementType, alpha)));
          if (!hasBias)
            return acc;
          Value bias = args[1];
          if (beta != 1.0)
            bias = arith::MulFOp::create(
                b, loc, bias,
                arith::ConstantOp::create(b, loc, b.getFloatAttr(elementType, beta)));
          return Value(arith::AddFOp::create(b, loc, acc, bias));
        });
    rewriter.replaceOp(node.getOp(), result);
    return success();
  }
};
} // namespace

void moec::legalize::populateMatmulPatterns(RewritePatternSet &patterns,
                                            const TypeConverter &converter) {
  patterns.add<LegalizeMatMul, LegalizeGemm>(converter, patterns.getContext());
}
