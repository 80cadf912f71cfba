//===- Normalization.cpp - Softmax, Hardmax, LayerNormalization, LpNormalization ===//
//
// Each is reductions over the normalized dimensions (a max, a sum, a mean) read back at
// every input position by one elementwise generic; nothing is broadcast in memory.
//
//===----------------------------------------------------------------------===//

#include "ReductionBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Support/DebugStringHelper.h"

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

namespace {

/// The dimensions Softmax, LogSoftmax and Hardmax normalize over: before opset 13 the input
/// is seen as 2-D, flattened at `axis` (default 1); since, `axis` alone (default -1).
FailureOr<SmallVector<bool>> normalizedDims(const Node &node, int64_t rank) {
  bool flattened = node->getOpsetVersion().value_or(onnx::kNewestOpset) < 13;
  int64_t axisAttr = node->getIntAttr("axis", flattened ? 1 : -1);
  // Flattening at `rank` leaves nothing to normalize over; ONNX allows that axis.
  FailureOr<int64_t> axis =
      flattened && axisAttr == rank ? FailureOr<int64_t>(rank) : getAxis(node, axisAttr, rank);
  if (failed(axis))
    return failure();
  SmallVector<bool> reduced(rank, false);
  for (int64_t dim = 0; dim < rank; ++dim)
    reduced[dim] = flattened ? dim >= *axis : dim == *axis;
  return reduced;
}

FailureOr<RankedTensorType> floatInput(const Node &node, Value input) {
  FailureOr<RankedTensorType> type = getRankedInput(node, input);
  if (succeeded(type) && !llvm::isa<FloatType>(type->getElementType()))
    return node.fail("only floating-point inputs are supported, not " +
                     debugString(type->getElementType()));
  return type;
}

/// The float input's type and its `axis` (default -1) normalized, or a failure naming the
/// node.
FailureOr<std::pair<RankedTensorType, int64_t>> floatInputAndAxis(const Node &node, Value input) {
  FailureOr<RankedTensorType> type = floatInput(node, input);
  if (failed(type))
    return failure();
  FailureOr<int64_t> axis = getAxis(node, node->getIntAttr("axis", -1), type->getRank());
  if (failed(axis))
    return failure();
  return std::make_pair(*type, *axis);
}

Value maxOver(OpBuilder &b, Location loc, Value input, ArrayRef<bool> reduced) {
  Type type = llvm::cast<RankedTensorType>(input.getType()).getElementType();
  auto floatType = llvm::cast<FloatType>(type);
  Value lowest = arith::ConstantOp::create(
      b, loc, type,
      b.getFloatAttr(type, APFloat::getInf(floatType.getFloatSemantics(), /*Negative=*/true)));
  return buildReduction(b, loc, input, reduced, {}, lowest,
                        [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                          return arith::MaximumFOp::create(nb, l, args[0], args[1]);
                        });
}

/// sum(f(x, reducedOperands...)) over the reduced dimensions.
Value sumOver(OpBuilder &b, Location loc, Value input, ArrayRef<bool> reduced,
              ValueRange reducedOperands,
              function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  Type type = llvm::cast<RankedTensorType>(input.getType()).getElementType();
  return buildReduction(b, loc, input, reduced, reducedOperands,
                        scalarConstant(b, loc, type, 0),
                        [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
                          return arith::AddFOp::create(nb, l, term(nb, l, args.drop_back()),
                                                       args.back());
                        });
}

/// Softmax and LogSoftmax: exp(x - max) / sum(exp(x - max)), and its log.
struct LegalizeSoftmax : NodePattern {
  LegalizeSoftmax(StringRef opType, bool logarithm, const TypeConverter &converter,
                  MLIRContext *context)
      : NodePattern(opType, converter, context), logarithm(logarithm) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    FailureOr<RankedTensorType> type = floatInput(node, inputs[0]);
    if (failed(type))
      return failure();
    FailureOr<SmallVector<bool>> reduced = normalizedDims(node, type->getRank());
    if (failed(reduced))
      return failure();
    Type computeType = computeFloatType(type->getElementType());
    Value input = convertFloats(node, rewriter, loc, inputs[0], computeType);
    Value max = maxOver(rewriter, loc, input, *reduced);
    Value sum = sumOver(rewriter, loc, input, *reduced, max,
                        [](OpBuilder &b, Location l, ValueRange args) -> Value {
                          return math::ExpOp::create(
                              b, l, arith::SubFOp::create(b, l, args[0], args[1]));
                        });
    Value result = buildWithReduced(
        rewriter, loc, input, *reduced, ValueRange{max, sum}, type->getElementType(),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value shifted = arith::SubFOp::create(b, l, args[0], args[1]);
          Value result =
              logarithm
                  ? Value(arith::SubFOp::create(b, l, shifted, math::LogOp::create(b, l, args[2])))
                  : Value(arith::DivFOp::create(b, l, math::ExpOp::create(b, l, shifted), args[2]));
          return castFloat(b, l, result, type->getElementType());
        });
    rewriter.replaceOp(node.getOp(), castToType(rewriter, loc, result, node.getResultType(0)));
    return success();
  }

  bool logarithm;
};

/// 1 at the first maximum over the normalized dimensions, 0 elsewhere.
struct LegalizeHardmax : NodePattern {
  LegalizeHardmax(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("Hardmax", converter, context) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    Value input = inputs[0];
    FailureOr<RankedTensorType> type = floatInput(node, input);
    if (failed(type))
      return failure();
    FailureOr<SmallVector<bool>> reduced = normalizedDims(node, type->getRank());
    if (failed(reduced))
      return failure();
    Value argMax = buildArgExtremum(rewriter, loc, input, *reduced, /*greatest=*/true,
                                    /*last=*/false, /*isUnsigned=*/false);
    SmallVector<Value> sizes;
    for (int64_t dim = 0; dim < type->getRank(); ++dim)
      sizes.push_back(tensor::DimOp::create(rewriter, loc, input, dim));
    Type elementType = type->getElementType();
    Value result = buildWithReduced(
        rewriter, loc, input, *reduced, argMax, elementType,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value position = linearReducedIndex(b, l, *reduced, sizes);
          Value isMax = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, position, args[1]);
          return arith::SelectOp::create(b, l, isMax, scalarConstant(b, l, elementType, 1),
                                         scalarConstant(b, l, elementType, 0));
        });
    rewriter.replaceOp(node.getOp(), castToType(rewriter, loc, result, node.getResultType(0)));
    return success();
  }
};

/// Y = (X - mean) / sqrt(var + epsilon) * Scale + B over the dimensions from `axis` on;
/// Mean and InvStdDev, when asked for, keep the normalized dimensions as size 1.
struct LegalizeLayerNormalization : NodePattern {
  LegalizeLayerNormalization(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("LayerNormalization", converter, context) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    FailureOr<std::pair<RankedTensorType, int64_t>> typeAndAxis =
        floatInputAndAxis(node, inputs[0]);
    if (failed(typeAndAxis))
      return failure();
    RankedTensorType type = typeAndAxis->first;
    int64_t axis = typeAndAxis->second;
    int64_t rank = type.getRank();
    SmallVector<bool> reduced(rank, false);
    for (int64_t dim = axis; dim < rank; ++dim)
      reduced[dim] = true;
    // stash_type 1 (the default) asks for the statistics in float32.
    Type elementType = node->getIntAttr("stash_type", 1) == 1
                           ? computeFloatType(type.getElementType())
                           : type.getElementType();
    Value input = convertFloats(node, rewriter, loc, inputs[0], elementType);

    Value count = arith::SIToFPOp::create(
        rewriter, loc, elementType,
        arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(),
                                   reducedCount(rewriter, loc, input, reduced)));
    auto divideByCount = [&](Value sum) {
      return buildElementwise(node, rewriter, loc, llvm::cast<RankedTensorType>(sum.getType()), sum,
                              [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                                return arith::DivFOp::create(b, l, args[0], count);
                              });
    };
    Value mean = divideByCount(sumOver(rewriter, loc, input, reduced, {},
                                       [](OpBuilder &, Location, ValueRange args) {
                                         return args[0];
                                       }));
    Value variance = divideByCount(
        sumOver(rewriter, loc, input, reduced, mean,
                [](OpBuilder &b, Location l, ValueRange args) -> Value {
                  Value centered = arith::SubFOp::create(b, l, args[0], args[1]);
                  return arith::MulFOp::create(b, l, centered, centered);
                }));
    double epsilon = node->getFloatAttr("epsilon", 1e-5);
    Value invStdDev = buildElementwise(
        node, rewriter, loc, llvm::cast<RankedTensorType>(variance.getType()), variance,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          // Not math.rsqrt: the host lowering makes it a call to a libm function that
          // does not exist.
          Value stdDev = math::SqrtOp::create(
              b, l, arith::AddFOp::create(b, l, args[0], scalarConstant(b, l, elementType, epsilon)));
          return arith::DivFOp::create(b, l, scalarConstant(b, l, elementType, 1), stdDev);
        });
    Value normalized = buildWithReduced(
        rewriter, loc, input, reduced, ValueRange{mean, invStdDev}, elementType,
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return arith::MulFOp::create(b, l, arith::SubFOp::create(b, l, args[0], args[1]),
                                       args[2]);
        });

    // Scale and B broadcast numpy-style against the normalized tensor.
    SmallVector<Value> operands = {normalized, inputs[1]};
    bool hasBias = node->hasInput(2);
    if (hasBias)
      operands.push_back(inputs[2]);
    RankedTensorType yType = node.getResultType(0);
    Value y = buildElementwise(
        node, rewriter, loc, yType, operands, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value result =
              arith::MulFOp::create(b, l, args[0], castFloat(b, l, args[1], elementType));
          if (hasBias)
            result = arith::AddFOp::create(b, l, result, castFloat(b, l, args[2], elementType));
          return castFloat(b, l, result, yType.getElementType());
        });

    SmallVector<Value> results = {y};
    // A named array: an ArrayRef of a braced list would dangle inside the loop.
    Value statistics[] = {mean, invStdDev};
    for (auto [index, statistic] : llvm::enumerate(statistics)) {
      unsigned resultIndex = index + 1;
      if (resultIndex >= node->getNumResults())
        break;
      RankedTensorType resultType = node.getResultType(resultIndex);
      // An omitted optional output has no uses and needs no value.
      if (!resultType) {
        results.push_back(Value());
        continue;
      }
      Value converted = convertFloats(node, rewriter, loc, statistic, resultType.getElementType());
      results.push_back(expandReduced(rewriter, loc, converted, reduced, resultType));
    }
    rewriter.replaceOp(node.getOp(), results);
    return success();
  }
};

/// x / ‖x‖ₚ along `axis` for p 1 or 2 (all onnxruntime's kernel takes), 0 where the norm
/// is 0, as onnxruntime defines it.
struct LegalizeLpNormalization : NodePattern {
  LegalizeLpNormalization(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("LpNormalization", converter, context) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    int64_t p = node->getIntAttr("p", 2);
    if (p != 1 && p != 2)
      return node.fail("p " + Twine(p) + " is not 1 or 2");
    FailureOr<std::pair<RankedTensorType, int64_t>> typeAndAxis =
        floatInputAndAxis(node, inputs[0]);
    if (failed(typeAndAxis))
      return failure();
    RankedTensorType type = typeAndAxis->first;
    int64_t axis = typeAndAxis->second;
    SmallVector<bool> reduced(type.getRank(), false);
    reduced[axis] = true;
    Type elementType = computeFloatType(type.getElementType());
    Value input = convertFloats(node, rewriter, loc, inputs[0], elementType);
    Value sum = sumOver(rewriter, loc, input, reduced, {},
                        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                          return p == 1 ? Value(math::AbsFOp::create(b, l, args[0]))
                                        : Value(arith::MulFOp::create(b, l, args[0], args[0]));
                        });
    Value result = buildWithReduced(
        rewriter, loc, input, reduced, sum, type.getElementType(),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value norm = p == 1 ? args[1] : Value(math::SqrtOp::create(b, l, args[1]));
          Value zero = scalarConstant(b, l, elementType, 0);
          Value isZero = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, norm, zero);
          Value quotient = arith::SelectOp::create(b, l, isZero, zero,
                                                   arith::DivFOp::create(b, l, args[0], norm));
          return castFloat(b, l, quotient, type.getElementType());
        });
    rewriter.replaceOp(node.getOp(), castToType(rewriter, loc, result, node.getResultType(0)));
    return success();
  }
};

} // namespace

void moec::legalize::populateNormalizationPatterns(RewritePatternSet &patterns,
                                                   const TypeConverter &converter) {
  MLIRContext *context = patterns.getContext();
  patterns.add<LegalizeSoftmax>("Softmax", /*logarithm=*/false, converter, context);
  patterns.add<LegalizeSoftmax>("LogSoftmax", /*logarithm=*/true, converter, context);
  patterns.add<LegalizeHardmax, LegalizeLayerNormalization, LegalizeLpNormalization>(converter,
                                                                                     context);
}
