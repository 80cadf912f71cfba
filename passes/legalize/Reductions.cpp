//===- Reductions.cpp - Reduce*, ArgMax/ArgMin, TopK, CumSum, CumProd ------===//
//
// A reduction is one linalg.generic whose reduced dimensions are `reduction` iterators and
// whose result drops them; keepdims reinserts them with tensor.expand_shape. Ops built from
// several reductions (ReduceLogSumExp, argmax's value-index pairs, TopK's ranks) read the
// reduced values back through projected indexing maps.
//
//===----------------------------------------------------------------------===//

#include "ReductionBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/DebugStringHelper.h"

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

//===----------------------------------------------------------------------===//
// Reduce*
//===----------------------------------------------------------------------===//

namespace {

enum class Combine { Sum, Prod, Max, Min };
enum class Before { None, Abs, Square };
enum class After { None, Mean, Sqrt, Log };

/// A Reduce* op as: each element mapped (`before`), combined, and the result mapped
/// (`after`). ReduceLogSumExp is apart: it subtracts the maximum before exponentiating.
struct ReduceKind {
  Combine combine;
  Before before = Before::None;
  After after = After::None;
  bool logSumExp = false;
};

Value combineScalars(OpBuilder &b, Location loc, Combine combine, Value x, Value acc,
                     bool isUnsigned) {
  bool isFloat = llvm::isa<FloatType>(x.getType());
  switch (combine) {
  case Combine::Sum:
    return isFloat ? Value(arith::AddFOp::create(b, loc, x, acc))
                   : Value(arith::AddIOp::create(b, loc, x, acc));
  case Combine::Prod:
    return isFloat ? Value(arith::MulFOp::create(b, loc, x, acc))
                   : Value(arith::MulIOp::create(b, loc, x, acc));
  case Combine::Max:
    if (isFloat)
      return arith::MaximumFOp::create(b, loc, x, acc);
    return isUnsigned ? Value(arith::MaxUIOp::create(b, loc, x, acc))
                      : Value(arith::MaxSIOp::create(b, loc, x, acc));
  case Combine::Min:
    if (isFloat)
      return arith::MinimumFOp::create(b, loc, x, acc);
    return isUnsigned ? Value(arith::MinUIOp::create(b, loc, x, acc))
                      : Value(arith::MinSIOp::create(b, loc, x, acc));
  }
  llvm_unreachable("unknown combine");
}

Value combineIdentity(OpBuilder &b, Location loc, Combine combine, Type type,
                      bool isUnsigned) {
  switch (combine) {
  case Combine::Sum:
    return scalarConstant(b, loc, type, 0);
  case Combine::Prod:
    return scalarConstant(b, loc, type, 1);
  case Combine::Max:
  case Combine::Min:
    return extremeIdentity(b, loc, type, combine == Combine::Max, isUnsigned);
  }
  llvm_unreachable("unknown combine");
}

/// Reduces `input` with a plain `combine` over the dimensions of `reduced`.
/// |x|; for integers a select, since the host lowering has no pattern for math.absi.
Value absolute(OpBuilder &b, Location loc, Value x, bool isUnsigned) {
  if (llvm::isa<FloatType>(x.getType()))
    return math::AbsFOp::create(b, loc, x);
  if (isUnsigned)
    return x;
  Value zero = scalarConstant(b, loc, x.getType(), 0);
  Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, zero);
  return arith::SelectOp::create(b, loc, negative, arith::SubIOp::create(b, loc, zero, x), x);
}

/// `x` mapped by `before`: |x| or x * x.
Value mapBefore(OpBuilder &b, Location loc, Value x, Before before, bool isUnsigned) {
  if (before == Before::Abs)
    return absolute(b, loc, x, isUnsigned);
  if (before == Before::Square)
    return llvm::isa<FloatType>(x.getType()) ? Value(arith::MulFOp::create(b, loc, x, x))
                                             : Value(arith::MulIOp::create(b, loc, x, x));
  return x;
}

Value reduceWith(OpBuilder &b, Location loc, Value input, ArrayRef<bool> reduced,
                 Combine combine, bool isUnsigned, Before before = Before::None) {
  Type type = llvm::cast<RankedTensorType>(input.getType()).getElementType();
  return buildReduction(b, loc, input, reduced, {},
                        combineIdentity(b, loc, combine, type, isUnsigned),
                        [&](OpBuilder &nb, Location nl, ValueRange args) {
                          Value x = mapBefore(nb, nl, args[0], before, isUnsigned);
                          return combineScalars(nb, nl, combine, x, args[1], isUnsigned);
                        });
}

/// Whether the input compares as unsigned: ONNX's unsigned integers, and bool (ReduceMax
/// and ReduceMin from opset 20), which orders false < true: as unsigned i1, max is `or`
/// and min is `and`.
bool isUnsignedInput(const Node &node, Type elementType) {
  return node.getInputElementType(0).isUnsignedInteger() || elementType.isInteger(1);
}

struct LegalizeReduce : NodePattern {
  LegalizeReduce(StringRef opType, ReduceKind kind, const TypeConverter &converter,
                 MLIRContext *context)
      : NodePattern(opType, converter, context), kind(kind) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    Value input = inputs[0];
    FailureOr<RankedTensorType> inputType = getRankedInput(node, input);
    if (failed(inputType))
      return failure();
    int64_t rank = inputType->getRank();
    Type elementType = inputType->getElementType();
    bool isFloat = llvm::isa<FloatType>(elementType);
    bool isUnsigned = isUnsignedInput(node, elementType);
    if (!isFloat && (kind.after == After::Sqrt || kind.after == After::Log || kind.logSumExp))
      return node.fail("only floating-point inputs are supported, not " +
                       debugString(elementType));
    RankedTensorType resultType = node.getResultType(0);
    bool keepDims = node->getIntAttr("keepdims", 1);

    // Opset 13 (ReduceSum) and 18 (the others) moved `axes` from an attribute to an
    // optional input and added noop_with_empty_axes; a node in the other opset's form is
    // not one this spec defines.
    FailureOr<bool> axesAsInput = readsAxesFromInput(node);
    if (failed(axesAsInput))
      return failure();
    std::optional<SmallVector<int64_t>> axes = node->getIntsAttr("axes");
    if (*axesAsInput && node->hasInput(1)) {
      axes = getConstantInts(inputs[1]);
      if (!axes) {
        auto axesType = llvm::dyn_cast<RankedTensorType>(inputs[1].getType());
        if (!axesType || !axesType.hasStaticShape())
          return node.fail("a non-constant `axes` input must have a static number of axes");
        if (axesType.getNumElements() != 0)
          return rewriteRuntimeAxes(node, input, inputs[1], rewriter);
        axes.emplace();
      }
    }
    if (!axes || axes->empty()) {
      if (node->getIntAttr("noop_with_empty_axes", 0)) {
        rewriter.replaceOp(node.getOp(), castToType(rewriter, loc, input, resultType));
        return success();
      }
      axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    }
    SmallVector<bool> reduced(rank, false);
    for (int64_t axis : *axes) {
      FailureOr<int64_t> normalized = getAxis(node, axis, rank);
      if (failed(normalized))
        return failure();
      reduced[*normalized] = true;
    }

    Value result;
    if (kind.logSumExp) {
      // log(sum(exp(x - max))) + max cannot overflow.
      Value max = reduceWith(rewriter, loc, input, reduced, Combine::Max, false);
      Value sum = buildReduction(
          rewriter, loc, input, reduced, max, scalarConstant(rewriter, loc, elementType, 0),
          [](OpBuilder &b, Location l, ValueRange args) -> Value {
            Value shifted = arith::SubFOp::create(b, l, args[0], args[1]);
            return arith::AddFOp::create(b, l, math::ExpOp::create(b, l, shifted), args[2]);
          });
      result = buildElementwise(
          node, rewriter, loc, llvm::cast<RankedTensorType>(sum.getType()), {sum, max},
          [](OpBuilder &b, Location l, ValueRange args) -> Value {
            return arith::AddFOp::create(b, l, math::LogOp::create(b, l, args[0]), args[1]);
          });
    } else {
      result = reduceWith(rewriter, loc, input, reduced, kind.combine, isUnsigned, kind.before);
      Value count =
          kind.after == After::Mean ? reducedCount(rewriter, loc, input, reduced) : Value();
      result = applyAfter(node, rewriter, loc, result, count, isUnsigned);
    }
    result = keepDims ? expandReduced(rewriter, loc, result, reduced, resultType)
                      : castToType(rewriter, loc, result, resultType);
    rewriter.replaceOp(node.getOp(), result);
    return success();
  }

private:
  /// Whether the node's opset gives `axes` as input 1 (and knows noop_with_empty_axes)
  /// rather than as an attribute. Without an opset (hand-written IR), whichever form the
  /// node carries.
  FailureOr<bool> readsAxesFromInput(const Node &node) const {
    int64_t since = getOpType() == "ReduceSum" ? 13 : 18;
    std::optional<int64_t> opset = node->getOpsetVersion();
    bool hasAttr = node->hasNodeAttr("axes");
    bool asInput = opset ? *opset >= since : !hasAttr;
    std::string at = opset ? " (the model imports opset " + std::to_string(*opset) + ")" : "";
    if (asInput && hasAttr)
      return node.fail("from opset " + Twine(since) + ", the axes are input 1, not an attribute" +
                       at);
    if (!asInput && (node->hasInput(1) || node->hasNodeAttr("noop_with_empty_axes")))
      return node.fail("before opset " + Twine(since) +
                       ", the axes are an attribute: no axes input, no noop_with_empty_axes" + at);
    return asInput;
  }

  /// Maps the reduced values by `kind.after`; `count` (an index) is the number of elements
  /// each one reduced, needed by Mean only.
  Value applyAfter(const Node &node, OpBuilder &b, Location loc, Value reducedValue, Value count,
                   bool isUnsigned) const {
    if (kind.after == After::None)
      return reducedValue;
    auto type = llvm::cast<RankedTensorType>(reducedValue.getType());
    Type elementType = type.getElementType();
    bool isFloat = llvm::isa<FloatType>(elementType);
    Value countScalar;
    if (kind.after == After::Mean) {
      Value count64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
      countScalar =
          isFloat ? Value(arith::SIToFPOp::create(b, loc, elementType, count64))
                  : Value(elementType.getIntOrFloatBitWidth() == 64
                              ? count64
                              : arith::TruncIOp::create(b, loc, elementType, count64));
    }
    return buildElementwise(
        node, b, loc, type, reducedValue, [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
          Value x = args[0];
          switch (kind.after) {
          case After::Mean:
            if (isFloat)
              return arith::DivFOp::create(nb, nl, x, countScalar);
            return isUnsigned ? Value(arith::DivUIOp::create(nb, nl, x, countScalar))
                              : Value(arith::DivSIOp::create(nb, nl, x, countScalar));
          case After::Sqrt:
            return math::SqrtOp::create(nb, nl, x);
          case After::Log:
            return math::LogOp::create(nb, nl, x);
          case After::None:
            break;
          }
          return x;
        });
  }

  /// `axes` known only at run time (with a static count): each dimension is reduced, or
  /// not, under an scf.if on whether `axes` names it. The reductions then happen one
  /// dimension at a time, so the elements are mapped (`kind.before`) first, and the
  /// results (`kind.after`) last, with the count of elements reduced computed at run time;
  /// ReduceLogSumExp, whose maximum would have to be broadcast back, is refused.
  LogicalResult rewriteRuntimeAxes(const Node &node, Value input, Value axes,
                                   ConversionPatternRewriter &rewriter) const {
    Location loc = node->getLoc();
    if (kind.logSumExp)
      return node.fail("a non-constant `axes` input is not supported for ReduceLogSumExp");
    RankedTensorType resultType = node.getResultType(0);
    bool keepDims = node->getIntAttr("keepdims", 1);
    auto inputType = llvm::cast<RankedTensorType>(input.getType());
    bool isUnsigned = isUnsignedInput(node, inputType.getElementType());
    auto axesType = llvm::cast<RankedTensorType>(axes.getType());
    int64_t rank = inputType.getRank();

    SmallVector<Value> axisValues;
    for (int64_t i = 0, n = axesType.getNumElements(); i < n; ++i) {
      Value position = arith::ConstantIndexOp::create(rewriter, loc, i);
      Value axis = tensor::ExtractOp::create(rewriter, loc, axes, position);
      axisValues.push_back(normalizeRuntimeAxis(node, rewriter, loc, axis, rank));
    }

    Value current = input;
    if (kind.before != Before::None)
      current = buildElementwise(node, rewriter, loc, inputType, input,
                                 [&](OpBuilder &b, Location l, ValueRange args) {
                                   return mapBefore(b, l, args[0], kind.before, isUnsigned);
                                 });
    Value count = arith::ConstantIndexOp::create(rewriter, loc, 1);
    SmallVector<Value> namedDims;
    for (int64_t dim = 0; dim < rank; ++dim) {
      Value dimValue = arith::ConstantIntOp::create(rewriter, loc, axesType.getElementType(), dim);
      Value named;
      for (Value axis : axisValues) {
        Value equal = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, axis, dimValue);
        named = named ? arith::OrIOp::create(rewriter, loc, named, equal) : equal;
      }
      namedDims.push_back(named);
      if (kind.after == After::Mean)
        count = arith::MulIOp::create(
            rewriter, loc, count,
            arith::SelectOp::create(rewriter, loc, named,
                                    tensor::DimOp::create(rewriter, loc, input, dim),
                                    arith::ConstantIndexOp::create(rewriter, loc, 1)));
      auto currentType = llvm::cast<RankedTensorType>(current.getType());
      SmallVector<int64_t> shape(currentType.getShape());
      shape[dim] = ShapedType::kDynamic;
      auto branchType = RankedTensorType::get(shape, currentType.getElementType());
      SmallVector<bool> reduced(rank, false);
      reduced[dim] = true;
      auto ifOp = scf::IfOp::create(
          rewriter, loc, named,
          [&](OpBuilder &b, Location l) {
            Value reducedValue = reduceWith(b, l, current, reduced, kind.combine, isUnsigned);
            // A reshape, not expand_shape: the host lowering cannot yet expand a memref of
            // dynamic layout (its strides become affine.apply after lower-affine ran).
            SmallVector<Value> sizes;
            for (int64_t i = 0; i < rank; ++i)
              sizes.push_back(i == dim ? Value(arith::ConstantIntOp::create(b, l, b.getI64Type(), 1))
                                       : Value(arith::IndexCastOp::create(
                                             b, l, b.getI64Type(),
                                             tensor::DimOp::create(b, l, current, i))));
            Value shapeValue = tensor::FromElementsOp::create(b, l, sizes);
            scf::YieldOp::create(
                b, l, Value(tensor::ReshapeOp::create(b, l, branchType, reducedValue, shapeValue)));
          },
          [&](OpBuilder &b, Location l) {
            scf::YieldOp::create(b, l, castToType(b, l, current, branchType));
          });
      current = ifOp.getResult(0);
    }
    current = applyAfter(node, rewriter, loc, current, count, isUnsigned);

    Value result;
    if (keepDims) {
      result = castToType(rewriter, loc, current, resultType);
    } else {
      // Dropping the reduced size-1 dimensions keeps the elements' order.
      SmallVector<int64_t> shape(resultType.getShape());
      auto shapeType = RankedTensorType::get({int64_t(shape.size())}, rewriter.getI64Type());
      Value shapeValue;
      if (resultType.hasStaticShape()) {
        shapeValue = arith::ConstantOp::create(
            rewriter, loc, shapeType, DenseIntElementsAttr::get(shapeType, ArrayRef(shape)));
      } else {
        // Result dimension j is the j-th dimension that no axis names.
        Type i64 = rewriter.getI64Type();
        Value zero64 = arith::ConstantIntOp::create(rewriter, loc, i64, 0);
        Value one64 = arith::ConstantIntOp::create(rewriter, loc, i64, 1);
        SmallVector<Value> sizes(shape.size(), zero64);
        Value kept = zero64;
        for (int64_t dim = 0; dim < rank; ++dim) {
          Value isKept = arith::XOrIOp::create(
              rewriter, loc, namedDims[dim],
              arith::ConstantIntOp::create(rewriter, loc, rewriter.getI1Type(), 1));
          Value size = arith::IndexCastOp::create(rewriter, loc, i64,
                                                  tensor::DimOp::create(rewriter, loc, input, dim));
          for (auto [j, resultSize] : llvm::enumerate(sizes)) {
            Value here = arith::AndIOp::create(
                rewriter, loc, isKept,
                arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, kept,
                                      arith::ConstantIntOp::create(rewriter, loc, i64, j)));
            resultSize = arith::SelectOp::create(rewriter, loc, here, size, resultSize);
          }
          kept = arith::AddIOp::create(
              rewriter, loc, kept, arith::SelectOp::create(rewriter, loc, isKept, one64, zero64));
        }
        Value rankMatches =
            arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, kept,
                                  arith::ConstantIntOp::create(rewriter, loc, i64, shape.size()));
        node.check(rewriter, loc, rankMatches, "its axes are not distinct", ValueRange{});
        shapeValue = tensor::FromElementsOp::create(rewriter, loc, sizes);
      }
      result = tensor::ReshapeOp::create(rewriter, loc, resultType, current, shapeValue);
    }
    rewriter.replaceOp(node.getOp(), result);
    return success();
  }

  ReduceKind kind;
};

/// ArgMax / ArgMin over one axis, as int64 positions.
struct LegalizeArgExtremum : NodePattern {
  LegalizeArgExtremum(StringRef opType, bool greatest, const TypeConverter &converter,
                      MLIRContext *context)
      : NodePattern(opType, converter, context), greatest(greatest) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    FailureOr<RankedTensorType> inputType = getRankedInput(node, inputs[0]);
    if (failed(inputType))
      return failure();
    int64_t rank = inputType->getRank();
    FailureOr<int64_t> axis = getAxis(node, node->getIntAttr("axis", 0), rank);
    if (failed(axis))
      return failure();
    SmallVector<bool> reduced(rank, false);
    reduced[*axis] = true;
    Value indices = buildArgExtremum(rewriter, loc, inputs[0], reduced, greatest,
                                     node->getIntAttr("select_last_index", 0),
                                     node.getInputElementType(0).isUnsignedInteger());
    RankedTensorType resultType = node.getResultType(0);
    Value result = node->getIntAttr("keepdims", 1)
                       ? expandReduced(rewriter, loc, indices, reduced, resultType)
                       : castToType(rewriter, loc, indices, resultType);
    rewriter.replaceOp(node.getOp(), result);
    return success();
  }

  bool greatest;
};

} // namespace

//===----------------------------------------------------------------------===//
// TopK
//===----------------------------------------------------------------------===//

namespace {

/// The loops of a generic over `input`'s dimensions plus one more, `extra`, that stands
/// for the `axis` dimension in operands mapped with `extraAtAxis`.
struct AxisLoops {
  int64_t rank, axis;
  MLIRContext *context;

  AffineMap outer() const {
    return AffineMap::getMultiDimIdentityMap(rank + 1, context).getMajorSubMap(rank);
  }
  AffineMap extraAtAxis() const {
    SmallVector<AffineExpr> exprs;
    for (int64_t dim = 0; dim < rank; ++dim)
      exprs.push_back(getAffineDimExpr(dim == axis ? rank : dim, context));
    return AffineMap::get(rank + 1, 0, exprs, context);
  }
  SmallVector<utils::IteratorType> iterators() const {
    SmallVector<utils::IteratorType> types(rank, utils::IteratorType::parallel);
    types.push_back(utils::IteratorType::reduction);
    return types;
  }
};

/// TopK sorts along the axis by rank: an element's rank counts the elements that come
/// before it (greater, or equal at a lower position, for `largest`); the element of rank p
/// is output p. Quadratic along the axis, which is short (the experts of a router).
struct LegalizeTopK : NodePattern {
  LegalizeTopK(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("TopK", converter, context) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    Value input = inputs[0];
    FailureOr<RankedTensorType> inputType = getRankedInput(node, input);
    if (failed(inputType))
      return failure();
    int64_t rank = inputType->getRank();
    FailureOr<int64_t> axis = getAxis(node, node->getIntAttr("axis", -1), rank);
    if (failed(axis))
      return failure();
    bool largest = node->getIntAttr("largest", 1);
    bool isUnsigned = node.getInputElementType(0).isUnsignedInteger();
    RankedTensorType valuesType = node.getResultType(0);
    RankedTensorType indicesType = node.getResultType(1);

    // Opset 10 moved k from an attribute to an input.
    Value k;
    if (node->hasInput(1)) {
      if (std::optional<SmallVector<int64_t>> constant = getConstantInts(inputs[1]))
        k = arith::ConstantIndexOp::create(rewriter, loc, constant->front());
      else
        k = arith::IndexCastOp::create(
            rewriter, loc, rewriter.getIndexType(),
            tensor::ExtractOp::create(rewriter, loc, inputs[1],
                                      ValueRange{arith::ConstantIndexOp::create(rewriter, loc, 0)}));
    } else if (node->hasNodeAttr("k")) {
      k = arith::ConstantIndexOp::create(rewriter, loc, node->getIntAttr("k", 0));
    } else {
      return node.fail("k is neither an input nor an attribute");
    }
    // The outputs take the ranks below k: a k past the axis would leave elements unwritten.
    Value axisSize = tensor::DimOp::create(rewriter, loc, input, *axis);
    Value kInRange = arith::AndIOp::create(
        rewriter, loc,
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sge, k,
                              arith::ConstantIndexOp::create(rewriter, loc, 0)),
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sle, k, axisSize));
    node.check(rewriter, loc, kInRange,
               "k is {0}, outside [0, {1}], the size of axis " + Twine(*axis),
               ValueRange{k, axisSize});

    AxisLoops loops{rank, *axis, rewriter.getContext()};
    Type i64 = rewriter.getI64Type();
    Value zeroRanks = filled(
        rewriter, loc,
        tensor::EmptyOp::create(rewriter, loc, tensor::getMixedSizes(rewriter, loc, input), i64),
        scalarConstant(rewriter, loc, i64, 0));
    Value ranks =
        linalg::GenericOp::create(
            rewriter, loc, zeroRanks.getType(), ValueRange{input, input}, zeroRanks,
            ArrayRef<AffineMap>{loops.outer(), loops.extraAtAxis(), loops.outer()},
            loops.iterators(),
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value self = args[0], other = args[1];
              Value selfIndex = linalg::IndexOp::create(b, l, *axis);
              Value otherIndex = linalg::IndexOp::create(b, l, rank);
              Value lower = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, otherIndex,
                                                  selfIndex);
              Value before = arith::OrIOp::create(
                  b, l, orderedCompare(b, l, largest, other, self, isUnsigned),
                  arith::AndIOp::create(b, l, equalTo(b, l, other, self), lower));
              Value increment = arith::ExtUIOp::create(b, l, b.getI64Type(), before);
              linalg::YieldOp::create(b, l, Value(arith::AddIOp::create(b, l, args[2], increment)));
            })
            .getResult(0);

    SmallVector<Value> sizes;
    for (int64_t dim = 0; dim < rank; ++dim)
      if (valuesType.isDynamicDim(dim))
        sizes.push_back(dim == *axis ? k : tensor::DimOp::create(rewriter, loc, input, dim));
    Value values = filled(rewriter, loc,
                          tensor::EmptyOp::create(rewriter, loc, valuesType, sizes),
                          scalarConstant(rewriter, loc, valuesType.getElementType(), 0));
    Value indices = filled(rewriter, loc,
                           tensor::EmptyOp::create(rewriter, loc, indicesType, sizes),
                           scalarConstant(rewriter, loc, i64, 0));
    auto gather = linalg::GenericOp::create(
        rewriter, loc, TypeRange{valuesType, indicesType}, ValueRange{input, ranks},
        ValueRange{values, indices},
        ArrayRef<AffineMap>{loops.extraAtAxis(), loops.extraAtAxis(), loops.outer(),
                            loops.outer()},
        loops.iterators(), [&](OpBuilder &b, Location l, ValueRange args) {
          Value position = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                                      linalg::IndexOp::create(b, l, *axis));
          Value source = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                                    linalg::IndexOp::create(b, l, rank));
          Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, args[1], position);
          linalg::YieldOp::create(b, l,
                                  ValueRange{arith::SelectOp::create(b, l, hit, args[0], args[2]),
                                             arith::SelectOp::create(b, l, hit, source, args[3])});
        });
    rewriter.replaceOp(node.getOp(), gather.getResults());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// CumSum, CumProd
//===----------------------------------------------------------------------===//

/// out[i] = the sum (or `product`) of x[j] over the j before i along `axis` (after, for
/// `reverse`; i itself unless `exclusive`): one generic, quadratic along the axis.
Value cumulative(OpBuilder &b, Location loc, Value input, int64_t axis, bool exclusive,
                 bool reverse, bool product) {
  auto type = llvm::cast<RankedTensorType>(input.getType());
  AxisLoops loops{type.getRank(), axis, b.getContext()};
  Value identity = scalarConstant(b, loc, type.getElementType(), product ? 1 : 0);
  Value init = filled(
      b, loc,
      tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, input), type.getElementType()),
      identity);
  using Pred = arith::CmpIPredicate;
  Pred predicate = reverse ? (exclusive ? Pred::ugt : Pred::uge)
                           : (exclusive ? Pred::ult : Pred::ule);
  return linalg::GenericOp::create(
             b, loc, init.getType(), input, init,
             ArrayRef<AffineMap>{loops.extraAtAxis(), loops.outer()}, loops.iterators(),
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value target = linalg::IndexOp::create(nb, l, axis);
               Value source = linalg::IndexOp::create(nb, l, loops.rank);
               Value counted = arith::CmpIOp::create(nb, l, predicate, source, target);
               Value term = arith::SelectOp::create(nb, l, counted, args[0], identity);
               bool isFloat = llvm::isa<FloatType>(term.getType());
               Value combined =
                   product ? (isFloat ? Value(arith::MulFOp::create(nb, l, args[1], term))
                                      : Value(arith::MulIOp::create(nb, l, args[1], term)))
                           : (isFloat ? Value(arith::AddFOp::create(nb, l, args[1], term))
                                      : Value(arith::AddIOp::create(nb, l, args[1], term)));
               linalg::YieldOp::create(nb, l, combined);
             })
      .getResult(0);
}

/// CumSum, and CumProd (26), whose attributes and axis input are CumSum's.
struct LegalizeCumulative : NodePattern {
  LegalizeCumulative(StringRef opType, bool product, const TypeConverter &converter,
                     MLIRContext *context)
      : NodePattern(opType, converter, context), product(product) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    Value input = inputs[0];
    FailureOr<RankedTensorType> inputType = getRankedInput(node, input);
    if (failed(inputType))
      return failure();
    int64_t rank = inputType->getRank();
    bool exclusive = node->getIntAttr("exclusive", 0), reverse = node->getIntAttr("reverse", 0);
    RankedTensorType resultType = node.getResultType(0);

    if (std::optional<SmallVector<int64_t>> axisConstant = getConstantInts(inputs[1])) {
      FailureOr<int64_t> axis = getAxis(node, axisConstant->front(), rank);
      if (failed(axis))
        return failure();
      Value result = cumulative(rewriter, loc, input, *axis, exclusive, reverse, product);
      rewriter.replaceOp(node.getOp(), castToType(rewriter, loc, result, resultType));
      return success();
    }

    // An axis known at run time: the input seen as [before, axis, after] (a reshape, which
    // moves nothing) is combined along its middle dimension.
    Value axis = tensor::ExtractOp::create(rewriter, loc, inputs[1], ValueRange{});
    axis = normalizeRuntimeAxis(
        node, rewriter, loc, arith::IndexCastOp::create(rewriter, loc, rewriter.getIndexType(), axis),
        rank);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    SmallVector<Value> groupSizes = {one, one, one};
    SmallVector<Value> inputSizes;
    // A named array: an ArrayRef of a braced list would dangle inside the loop.
    const arith::CmpIPredicate groupPredicates[] = {
        arith::CmpIPredicate::slt, arith::CmpIPredicate::eq, arith::CmpIPredicate::sgt};
    for (int64_t dim = 0; dim < rank; ++dim) {
      Value size = tensor::DimOp::create(rewriter, loc, input, dim);
      inputSizes.push_back(arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), size));
      Value dimValue = arith::ConstantIndexOp::create(rewriter, loc, dim);
      for (auto [group, predicate] : llvm::enumerate(groupPredicates)) {
        Value inGroup = arith::CmpIOp::create(rewriter, loc, predicate, dimValue, axis);
        groupSizes[group] = arith::MulIOp::create(
            rewriter, loc, groupSizes[group],
            arith::SelectOp::create(rewriter, loc, inGroup, size, one));
      }
    }
    auto toShape = [&](ValueRange sizes) -> Value {
      SmallVector<Value> sizes64 = llvm::map_to_vector(sizes, [&](Value size) -> Value {
        if (size.getType().isIndex())
          return arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), size);
        return size;
      });
      return tensor::FromElementsOp::create(rewriter, loc, sizes64);
    };
    auto groupedType = RankedTensorType::get(SmallVector<int64_t>(3, ShapedType::kDynamic),
                                             inputType->getElementType());
    Value grouped =
        tensor::ReshapeOp::create(rewriter, loc, groupedType, input, toShape(groupSizes));
    Value combined = cumulative(rewriter, loc, grouped, 1, exclusive, reverse, product);
    Value result =
        tensor::ReshapeOp::create(rewriter, loc, resultType, combined, toShape(inputSizes));
    rewriter.replaceOp(node.getOp(), result);
    return success();
  }

  bool product;
};

} // namespace

void moec::legalize::populateReductionPatterns(RewritePatternSet &patterns,
                                               const TypeConverter &converter) {
  MLIRContext *context = patterns.getContext();
  auto reduce = [&](StringRef opType, ReduceKind kind) {
    patterns.add<LegalizeReduce>(opType, kind, converter, context);
  };
  reduce("ReduceSum", {Combine::Sum});
  reduce("ReduceMean", {Combine::Sum, Before::None, After::Mean});
  reduce("ReduceMax", {Combine::Max});
  reduce("ReduceMin", {Combine::Min});
  reduce("ReduceProd", {Combine::Prod});
  reduce("ReduceL1", {Combine::Sum, Before::Abs});
  reduce("ReduceL2", {Combine::Sum, Before::Square, After::Sqrt});
  reduce("ReduceLogSum", {Combine::Sum, Before::None, After::Log});
  reduce("ReduceLogSumExp", {Combine::Sum, Before::None, After::None, /*logSumExp=*/true});
  reduce("ReduceSumSquare", {Combine::Sum, Before::Square});
  patterns.add<LegalizeArgExtremum>("ArgMax", /*greatest=*/true, converter, context);
  patterns.add<LegalizeArgExtremum>("ArgMin", /*greatest=*/false, converter, context);
  patterns.add<LegalizeTopK>(converter, context);
  patterns.add<LegalizeCumulative>("CumSum", /*product=*/false, converter, context);
  patterns.add<LegalizeCumulative>("CumProd", /*product=*/true, converter, context);
}
