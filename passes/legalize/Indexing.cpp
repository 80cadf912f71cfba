//===- Indexing.cpp - Gathers, scatters and data-dependent selections -----===//
//
// Gathers read through indices: one linalg.generic over the result whose body computes
// the source coordinate and reads it with tensor.extract. Scatters write through indices,
// which a parallel op cannot express when indices repeat (reductions must accumulate), so
// they are a sequential scf.for nest over the updates threading the result tensor.
// NonZero and Compress have data-dependent result sizes: they count first, then fill.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"

#include <limits>

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

namespace {

using Pred = arith::CmpIPredicate;

/// The sizes of `value`'s dimensions as index values.
SmallVector<Value> indexSizes(OpBuilder &b, Location loc, Value value) {
  return llvm::map_to_vector(tensor::getMixedSizes(b, loc, value), [&](OpFoldResult size) {
    return getValueOrCreateConstantIndexOp(b, loc, size);
  });
}

/// An integer or float scalar as an index (floats truncate toward zero, as ONNX's
/// OneHot casts its indices and depth).
Value toIndex(OpBuilder &b, Location loc, Value scalar, bool isUnsigned) {
  if (llvm::isa<FloatType>(scalar.getType()))
    scalar = arith::FPToSIOp::create(b, loc, b.getI64Type(), scalar);
  if (isUnsigned)
    return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), scalar);
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), scalar);
}

/// An ONNX index into a dimension of `size`: negative ones count from the end.
Value wrapIndex(OpBuilder &b, Location loc, Value scalar, Value size, bool isUnsigned = false) {
  Value index = toIndex(b, loc, scalar, isUnsigned);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value negative = arith::CmpIOp::create(b, loc, Pred::slt, index, zero);
  Value wrapped = arith::AddIOp::create(b, loc, index, size);
  return arith::SelectOp::create(b, loc, negative, wrapped, index);
}

/// A tensor of `sizes` whose element at each position `ivs` is `element(ivs)`.
Value generate(OpBuilder &b, Location loc, ArrayRef<Value> sizes, Type elementType,
               function_ref<Value(OpBuilder &, Location, ValueRange)> element) {
  SmallVector<OpFoldResult> mixedSizes = getAsOpFoldResult(ValueRange(sizes));
  Value init = tensor::EmptyOp::create(b, loc, mixedSizes, elementType);
  int64_t rank = sizes.size();
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), ValueRange{}, init, maps, iterators,
             [&](OpBuilder &nested, Location nestedLoc, ValueRange) {
               SmallVector<Value> ivs;
               for (int64_t dim = 0; dim < rank; ++dim)
                 ivs.push_back(linalg::IndexOp::create(nested, nestedLoc, dim));
               linalg::YieldOp::create(nested, nestedLoc, element(nested, nestedLoc, ivs));
             })
      .getResult(0);
}

/// Visits every position of a row-major loop nest over `upperBounds`, threading
/// `iterArgs`; returns their final values.
SmallVector<Value> forEachPosition(
    OpBuilder &b, Location loc, ArrayRef<Value> upperBounds, ValueRange iterArgs,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange ivs, ValueRange args)> body) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> lowerBounds(upperBounds.size(), zero), steps(upperBounds.size(), one);
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lowerBounds, upperBounds, steps, iterArgs,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs, ValueRange args) {
        SmallVector<Value> results = body(nested, nestedLoc, ivs, args);
        return scf::ValueVector(results.begin(), results.end());
      });
  return SmallVector<Value>(nest.results.begin(), nest.results.end());
}

Value isNonZero(OpBuilder &b, Location loc, Value scalar) {
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(scalar.getType()));
  if (llvm::isa<FloatType>(scalar.getType()))
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, scalar, zero);
  return arith::CmpIOp::create(b, loc, Pred::ne, scalar, zero);
}

/// Visits every element position of `value`, as forEachPosition.
SmallVector<Value> forEachElement(
    OpBuilder &b, Location loc, Value value, ValueRange iterArgs,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange ivs, ValueRange args)> body) {
  return forEachPosition(b, loc, indexSizes(b, loc, value), iterArgs, body);
}

/// How many elements of `value` are not zero, as an index.
Value countNonZero(OpBuilder &b, Location loc, Value value) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  return forEachElement(
      b, loc, value, zero,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange ivs, ValueRange args) {
        Value element = tensor::ExtractOp::create(nested, nestedLoc, value, ivs);
        Value increment = arith::IndexCastUIOp::create(nested, nestedLoc, nested.getIndexType(),
                                                       isNonZero(nested, nestedLoc, element));
        return SmallVector<Value>{arith::AddIOp::create(nested, nestedLoc, args[0], increment)};
      })[0];
}

/// Visits the non-zero elements of `selector` in row-major order; `write` stores each
/// one's contribution (given its position `ivs`) at the next free `entry` of `result`,
/// which starts as `init`. Returns the final result.
Value writeEachNonZero(
    OpBuilder &b, Location loc, Value selector, Value init,
    function_ref<Value(OpBuilder &, Location, ValueRange ivs, Value result, Value entry)> write) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  return forEachElement(
      b, loc, selector, ValueRange{init, zero},
      [&](OpBuilder &nb, Location nl, ValueRange ivs, ValueRange args) {
        Value result = args[0], entry = args[1];
        Value element = tensor::ExtractOp::create(nb, nl, selector, ivs);
        auto ifOp = scf::IfOp::create(
            nb, nl, isNonZero(nb, nl, element),
            [&](OpBuilder &then, Location thenLoc) {
              Value written = write(then, thenLoc, ivs, result, entry);
              Value next = arith::AddIOp::create(then, thenLoc, entry,
                                                 arith::ConstantIndexOp::create(then, thenLoc, 1));
              scf::YieldOp::create(then, thenLoc, ValueRange{written, next});
            },
            [&](OpBuilder &otherwise, Location otherwiseLoc) {
              scf::YieldOp::create(otherwise, otherwiseLoc, ValueRange{result, entry});
            });
        return llvm::to_vector_of<Value>(ifOp.getResults());
      })[0];
}

int64_t rankOf(Value value) { return llvm::cast<RankedTensorType>(value.getType()).getRank(); }

/// The smallest and the largest element of the integer tensor `indices` as i64 tensors:
/// 0-d, or with `perTupleElement` one per position along the last dimension (the index
/// tuples of GatherND and ScatterND). One pass over `indices`.
std::pair<Value, Value> indexExtremes(OpBuilder &b, Location loc, Value indices, bool isUnsigned,
                                      bool perTupleElement) {
  int64_t rank = rankOf(indices);
  Type i64 = b.getI64Type();
  SmallVector<OpFoldResult> sizes;
  SmallVector<AffineExpr> kept;
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::reduction);
  if (perTupleElement) {
    sizes.push_back(tensor::getMixedSize(b, loc, indices, rank - 1));
    kept.push_back(b.getAffineDimExpr(rank - 1));
    iterators.back() = utils::IteratorType::parallel;
  }
  auto filled = [&](int64_t value) {
    Value empty = tensor::EmptyOp::create(b, loc, sizes, i64);
    Value constant = arith::ConstantIntOp::create(b, loc, value, 64);
    return linalg::FillOp::create(b, loc, constant, empty).getResult(0);
  };
  Value minInit = filled(std::numeric_limits<int64_t>::max());
  Value maxInit = filled(std::numeric_limits<int64_t>::min());
  AffineMap extremeMap = AffineMap::get(rank, 0, kept, b.getContext());
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank), extremeMap, extremeMap};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{minInit.getType(), maxInit.getType()}, indices,
      ValueRange{minInit, maxInit}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value index = args[0];
        if (index.getType() != nb.getI64Type())
          index = isUnsigned ? Value(arith::ExtUIOp::create(nb, nl, nb.getI64Type(), index))
                             : Value(arith::ExtSIOp::create(nb, nl, nb.getI64Type(), index));
        linalg::YieldOp::create(nb, nl,
                                ValueRange{arith::MinSIOp::create(nb, nl, args[1], index),
                                           arith::MaxSIOp::create(nb, nl, args[2], index)});
      });
  return {generic.getResult(0), generic.getResult(1)};
}

/// Checks at run time that the indices whose extremes are `min` and `max` (i64) lie in
/// [-size, size) for data dimension `dim` of `size` (an index), as ONNX requires; the
/// message gives the first extreme outside.
void checkIndexExtremes(const Node &node, OpBuilder &b, Location loc, Value min, Value max,
                        Value size, int64_t dim) {
  Value bound = arith::IndexCastOp::create(b, loc, b.getI64Type(), size);
  Value lowest = arith::SubIOp::create(b, loc, arith::ConstantIntOp::create(b, loc, 0, 64), bound);
  Value minInRange = arith::CmpIOp::create(b, loc, Pred::sge, min, lowest);
  Value maxInRange = arith::CmpIOp::create(b, loc, Pred::slt, max, bound);
  Value inRange = arith::AndIOp::create(b, loc, minInRange, maxInRange);
  Value offending = arith::SelectOp::create(b, loc, maxInRange, min, max);
  node.check(b, loc, inRange,
             "index {0} is out of range for dimension " + Twine(dim) + " of data (size {1})",
             ValueRange{offending, bound});
}

/// Checks at run time that every element of `indices` (input 1 of the node) lies in
/// [-size, size) for data dimension `dim` of `size`.
void checkIndicesInRange(const Node &node, OpBuilder &b, Location loc, Value indices, Value size,
                         int64_t dim) {
  if (!getElementTypeOrSelf(indices.getType()).isInteger())
    return;
  auto [min, max] = indexExtremes(b, loc, indices,
                                  node.getInputElementType(1).isUnsignedInteger(), false);
  checkIndexExtremes(node, b, loc, tensor::ExtractOp::create(b, loc, min, ValueRange{}),
                     tensor::ExtractOp::create(b, loc, max, ValueRange{}), size, dim);
}

/// Checks at run time that element j of every index tuple along the last dimension of
/// `indices` (input 1 of the node; its last dimension already known to be `length`) lies
/// in [-size, size) for data dimension `firstDim + j`.
void checkIndexTuplesInRange(const Node &node, OpBuilder &b, Location loc, Value indices,
                             int64_t length, ArrayRef<Value> dataSizes, int64_t firstDim) {
  if (!getElementTypeOrSelf(indices.getType()).isInteger())
    return;
  auto [min, max] =
      indexExtremes(b, loc, indices, node.getInputElementType(1).isUnsignedInteger(), true);
  for (int64_t j = 0; j < length; ++j) {
    Value position = arith::ConstantIndexOp::create(b, loc, j);
    checkIndexExtremes(node, b, loc, tensor::ExtractOp::create(b, loc, min, position),
                       tensor::ExtractOp::create(b, loc, max, position), dataSizes[firstDim + j],
                       firstDim + j);
  }
}

/// `value` as a dense constant if it is a small integer constant (indices, a depth), or
/// else `value` itself. Reads of dense constants fold; reads of the resource constants the
/// importer makes do not, and a rank-0 one even crashes the host lowering (see the report).
Value asDenseConstant(OpBuilder &b, Location loc, Value value) {
  constexpr int64_t maxElements = 64;
  auto type = llvm::cast<RankedTensorType>(value.getType());
  if (!type.hasStaticShape() || type.getNumElements() > maxElements ||
      !type.getElementType().isInteger())
    return value;
  std::optional<SmallVector<int64_t>> values = getConstantInts(value);
  if (!values)
    return value;
  unsigned width = type.getElementType().getIntOrFloatBitWidth();
  SmallVector<APInt> elements = llvm::map_to_vector(*values, [&](int64_t v) {
    return APInt(width, v, /*isSigned=*/true, /*implicitTrunc=*/true);
  });
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, elements));
}

/// A NodePattern (ranked inputs) that builds the node's single result.
class IndexingPattern : public NodePattern {
public:
  IndexingPattern(StringRef opType, const TypeConverter &converter, MLIRContext *context)
      : NodePattern(opType, converter, context, Inputs::Ranked) {}

protected:
  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const final {
    SmallVector<Value> operands = llvm::map_to_vector(inputs, [&](Value input) {
      return llvm::isa<RankedTensorType>(input.getType())
                 ? asDenseConstant(rewriter, node->getLoc(), input)
                 : input;
    });
    FailureOr<Value> result = build(node, operands, rewriter, node->getLoc());
    if (failed(result))
      return failure();
    rewriter.replaceOp(node.getOp(),
                       castToType(rewriter, node->getLoc(), *result, node.getResultType(0)));
    return success();
  }

  /// Builds the node's single result; it is cast to the node's result type.
  virtual FailureOr<Value> build(const Node &node, ValueRange inputs, OpBuilder &b,
                                 Location loc) const = 0;

  /// The node's `axis` attribute normalized for `rank` dimensions.
  static FailureOr<int64_t> getAxis(const Node &node, int64_t defaultAxis, int64_t rank) {
    int64_t axis = node->getIntAttr("axis", defaultAxis);
    if (std::optional<int64_t> normalized = normalizeAxis(axis, rank))
      return *normalized;
    return node.fail("axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
  }
};

/// Gather: result[pre..., i..., post...] = data[pre..., indices[i...], post...].
struct LegalizeGather : IndexingPattern {
  LegalizeGather(const TypeConverter &converter, MLIRContext *context)
      : IndexingPattern("Gather", converter, context) {}

  FailureOr<Value> build(const Node &node, ValueRange inputs, OpBuilder &b,
                         Location loc) const override {
    Value data = inputs[0], indices = inputs[1];
    FailureOr<int64_t> axis = getAxis(node, 0, rankOf(data));
    if (failed(axis))
      return failure();
    int64_t indicesRank = rankOf(indices);
    SmallVector<Value> dataSizes = indexSizes(b, loc, data);
    checkIndicesInRange(node, b, loc, indices, dataSizes[*axis], *axis);
    SmallVector<Value> sizes(dataSizes.begin(), dataSizes.begin() + *axis);
    llvm::append_range(sizes, indexSizes(b, loc, indices));
    sizes.append(dataSizes.begin() + *axis + 1, dataSizes.end());
    Type elementType = node.getResultType(0).getElementType();
    return generate(b, loc, sizes, elementType, [&](OpBuilder &nb, Location nl, ValueRange ivs) {
      Value index = tensor::ExtractOp::create(nb, nl, indices, ivs.slice(*axis, indicesRank));
      SmallVector<Value> coordinates = llvm::to_vector(ivs.take_front(*axis));
      coordinates.push_back(wrapIndex(nb, nl, index, dataSizes[*axis]));
      llvm::append_range(coordinates, ivs.drop_front(*axis + indicesRank));
      return Value(tensor::ExtractOp::create(nb, nl, data, coordinates));
    });
  }
};

/// GatherElements: result[i...] = data[i... with i[axis] = indices[i...]].
struct LegalizeGatherElements : IndexingPattern {
  LegalizeGatherElements(const TypeConverter &converter, MLIRContext *context)
      : IndexingPattern("GatherElements", converter, context) {}

  FailureOr<Value> build(const Node &node, ValueRange inputs, OpBuilder &b,
                         Location loc) const override {
    Value data = inputs[0], indices = inputs[1];
    FailureOr<int64_t> axis = getAxis(node, 0, rankOf(data));
    if (failed(axis))
      return failure();
    if (rankOf(indices) != rankOf(data))
      return node.fail("indices must have the rank of data");
    for (int64_t dim = 0; dim < rankOf(data); ++dim)
      if (dim != *axis &&
          failed(requireDim(node, b, loc, indices, "indices", dim, data, "data", dim, true)))
        return failure();
    Value axisSize = tensor::DimOp::create(b, loc, data, *axis);
    checkIndicesInRange(node, b, loc, indices, axisSize, *axis);
    Type elementType = node.getResultType(0).getElementType();
    return generate(b, loc, indexSizes(b, loc, indices), elementType,
                    [&](OpBuilder &nb, Location nl, ValueRange ivs) {
                      Value index = tensor::ExtractOp::create(nb, nl, indices, ivs);
                      SmallVector<Value> coordinates = llvm::to_vector(ivs);
                      coordinates[*axis] = wrapIndex(nb, nl, index, axisSize);
                      return Value(tensor::ExtractOp::create(nb, nl, data, coordinates));
                    });
  }
};

/// The length of the index tuples along the last dimension of GatherND / ScatterND
/// indices, given the data dimensions they may index and the rank of the tensor laid out
/// like the indices' leading dimensions followed by the unindexed data dimensions (the
/// result / the updates). The ranks determine it, so that dimension may be dynamic: then
/// it is checked at run time.
FailureOr<int64_t> getIndexTupleLength(const Node &node, OpBuilder &b, Location loc,
                                       Value indices, int64_t indexableRank, Value laidOut,
                                       StringRef laidOutName) {
  int64_t indicesRank = rankOf(indices);
  if (indicesRank < 1)
    return node.fail("indices must have rank 1 or more");
  int64_t length = indicesRank - 1 + indexableRank - rankOf(laidOut);
  if (length < 1 || length > indexableRank)
    return node.fail("the ranks of indices and " + laidOutName + " give index tuples of length " +
                     Twine(length) + ", outside [1, " + Twine(indexableRank) + "]");
  int64_t declared = llvm::cast<RankedTensorType>(indices.getType()).getDimSize(indicesRank - 1);
  auto message = [&](const Twine &declaredText) {
    return ("the last dimension of indices is " + declaredText + ", but the ranks of indices and " +
            laidOutName + " give index tuples of length " + Twine(length))
        .str();
  };
  if (!ShapedType::isDynamic(declared)) {
    if (declared != length)
      return node.fail(message(Twine(declared)));
    return length;
  }
  Value actual = tensor::DimOp::create(b, loc, indices, indicesRank - 1);
  Value holds = arith::CmpIOp::create(b, loc, Pred::eq, actual,
                                      arith::ConstantIndexOp::create(b, loc, length));
  node.check(b, loc, holds, message("{0}"), actual);
  return length;
}

/// The data coordinates that the index tuple at `tuplePosition` of `indices` selects,
/// for data dimensions `firstDim`, `firstDim + 1`, ...
SmallVector<Value> readIndexTuple(OpBuilder &b, Location loc, Value indices,
                                  ValueRange tuplePosition, int64_t length,
                                  ArrayRef<Value> dataSizes, int64_t firstDim) {
  SmallVector<Value> coordinates;
  SmallVector<Value> position = llvm::to_vector(tuplePosition);
  position.push_back(Value());
  for (int64_t j = 0; j < length; ++j) {
    position.back() = arith::ConstantIndexOp::create(b, loc, j);
    Value index = tensor::ExtractOp::create(b, loc, indices, position);
    coordinates.push_back(wrapIndex(b, loc, index, dataSizes[firstDim + j]));
  }
  return coordinates;
}

/// GatherND: result[i..., rest...] = data[b..., indices[i...], rest...], where the first
/// batch_dims dimensions b of i index data directly.
struct LegalizeGatherND : IndexingPattern {
  LegalizeGatherND(const TypeConverter &converter, MLIRContext *context)
      : IndexingPattern("GatherND", converter, context) {}

  FailureOr<Value> build(const Node &node, ValueRange inputs, OpBuilder &b,
                         Location loc) const override {
    Value data = inputs[0], indices = inputs[1];
    int64_t dataRank = rankOf(data), indicesRank = rankOf(indices);
    int64_t batchDims = node->getIntAttr("batch_dims", 0);
    if (batchDims < 0 || batchDims >= std::min(dataRank, indicesRank))
      return node.fail("batch_dims " + Twine(batchDims) +
                       " must be below the ranks of data and indices");
    FailureOr<int64_t> length = getIndexTupleLength(
        node, b, loc, indices, dataRank - batchDims, node.getOp().getResult(0), "the result");
    if (failed(length))
      return failure();
    for (int64_t dim = 0; dim < batchDims; ++dim)
      if (failed(requireDim(node, b, loc, indices, "indices", dim, data, "data", dim, false)))
        return failure();
    SmallVector<Value> dataSizes = indexSizes(b, loc, data);
    checkIndexTuplesInRange(node, b, loc, indices, *length, dataSizes, batchDims);
    SmallVector<Value> sizes = indexSizes(b, loc, indices);
    sizes.pop_back();
    sizes.append(dataSizes.begin() + batchDims + *length, dataSizes.end());
    Type elementType = node.getResultType(0).getElementType();
    return generate(b, loc, sizes, elementType, [&](OpBuilder &nb, Location nl, ValueRange ivs) {
      SmallVector<Value> coordinates = llvm::to_vector(ivs.take_front(batchDims));
      llvm::append_range(coordinates,
                         readIndexTuple(nb, nl, indices, ivs.take_front(indicesRank - 1), *length,
                                        dataSizes, batchDims));
      llvm::append_range(coordinates, ivs.drop_front(indicesRank - 1));
      return Value(tensor::ExtractOp::create(nb, nl, data, coordinates));
    });
  }
};

/// How a scatter combines an update with the element it lands on.
using Combiner = std::function<Value(OpBuilder &, Location, Value old, Value update)>;

template <typename FloatOp, typename SignedOp, typename UnsignedOp>
Combiner combiner(bool isUnsigned) {
  return [=](OpBuilder &b, Location loc, Value old, Value update) -> Value {
    if (llvm::isa<FloatType>(old.getType()))
      return FloatOp::create(b, loc, old, update);
    if (isUnsigned)
      return UnsignedOp::create(b, loc, old, update);
    return SignedOp::create(b, loc, old, update);
  };
}

FailureOr<Combiner> getScatterCombiner(const Node &node) {
  StringRef reduction = node->getStringAttr("reduction", "none");
  // Bool orders false < true: as unsigned i1, max is `or` and min is `and`.
  Type dataType = node.getInputElementType(0);
  bool isUnsigned = dataType.isUnsignedInteger() || dataType.isInteger(1);
  // Opset 16 brought add and mul, 18 max and min.
  std::optional<int64_t> opset = node->getOpsetVersion();
  if ((reduction == "max" || reduction == "min") && opset && *opset < 18)
    return node.fail("reduction '" + reduction + "' is in the spec from opset 18 (the model " +
                     "imports opset " + Twine(*opset) + ")");
  if (reduction != "none" && opset && *opset < 16)
    return node.fail("reduction '" + reduction + "' is in the spec from opset 16 (the model " +
                     "imports opset " + Twine(*opset) + ")");
  if (reduction == "none")
    return Combiner([](OpBuilder &, Location, Value, Value update) { return update; });
  if (reduction == "add")
    return combiner<arith::AddFOp, arith::AddIOp, arith::AddIOp>(isUnsigned);
  if (reduction == "mul")
    return combiner<arith::MulFOp, arith::MulIOp, arith::MulIOp>(isUnsigned);
  if (reduction == "max")
    return combiner<arith::MaximumFOp, arith::MaxSIOp, arith::MaxUIOp>(isUnsigned);
  if (reduction == "min")
    return combiner<arith::MinimumFOp, arith::MinSIOp, arith::MinUIOp>(isUnsigned);
  return node.fail("reduction '" + reduction + "' is not one of none, add, mul, max, min");
}

/// A scatter: a copy of data where each element of `updates`, in row-major order, is
/// combined into the position `target(ivs)` gives for its position.
struct ScatterPattern : IndexingPattern {
  using IndexingPattern::IndexingPattern;

  FailureOr<Value> build(const Node &node, ValueRange inputs, OpBuilder &b,
                         Location loc) const final {
    auto combine = getScatterCombiner(node);
    if (failed(combine))
      return failure();
    Value data = inputs[0], indices = inputs[1], updates = inputs[2];
    SmallVector<Value> dataSizes = indexSizes(b, loc, data);
    auto target = getTarget(node, b, loc, data, indices, updates, dataSizes);
    if (failed(target))
      return failure();
    bool reduces = node->getStringAttr("reduction", "none") != "none";
    // Scattering into a fresh copy: in place, data's buffer could be a model input, which
    // the model must not write to (docs/runtime-abi.md).
    Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, data),
                                         getElementTypeOrSelf(data.getType()));
    Value copy = linalg::CopyOp::create(b, loc, data, init).getResult(0);
    return forEachElement(
        b, loc, updates, copy, [&](OpBuilder &nb, Location nl, ValueRange ivs, ValueRange args) {
          Value result = args[0];
          SmallVector<Value> coordinates = (*target)(nb, nl, ivs);
          Value update = tensor::ExtractOp::create(nb, nl, updates, ivs);
          if (reduces)
            update =
                (*combine)(nb, nl, tensor::ExtractOp::create(nb, nl, result, coordinates), update);
          return SmallVector<Value>{tensor::InsertOp::create(nb, nl, update, result, coordinates)};
        })[0];
  }

  using Target = std::function<SmallVector<Value>(OpBuilder &, Location, ValueRange)>;
  /// Where the update at a position lands in data; checks at run time, with `b`, that
  /// every update lands inside data.
  virtual FailureOr<Target> getTarget(const Node &node, OpBuilder &b, Location loc, Value data,
                                      Value indices, Value updates,
                                      ArrayRef<Value> dataSizes) const = 0;
};

/// ScatterElements (and its older name Scatter): the update at i... lands at i... with
/// i[axis] = indices[i...].
struct LegalizeScatterElements : ScatterPattern {
  using ScatterPattern::ScatterPattern;

  FailureOr<Target> getTarget(const Node &node, OpBuilder &b, Location loc, Value data,
                              Value indices, Value updates,
                              ArrayRef<Value> dataSizes) const override {
    FailureOr<int64_t> axis = getAxis(node, 0, rankOf(data));
    if (failed(axis))
      return failure();
    if (rankOf(indices) != rankOf(data) || rankOf(updates) != rankOf(data))
      return node.fail("indices and updates must have the rank of data");
    for (int64_t dim = 0; dim < rankOf(data); ++dim) {
      if (failed(requireDim(node, b, loc, updates, "updates", dim, indices, "indices", dim,
                            false)) ||
          (dim != *axis &&
           failed(requireDim(node, b, loc, indices, "indices", dim, data, "data", dim, true))))
        return failure();
    }
    Value axisSize = dataSizes[*axis];
    checkIndicesInRange(node, b, loc, indices, axisSize, *axis);
    int64_t axisValue = *axis;
    return Target([=](OpBuilder &b, Location loc, ValueRange ivs) {
      Value index = tensor::ExtractOp::create(b, loc, indices, ivs);
      SmallVector<Value> coordinates = llvm::to_vector(ivs);
      coordinates[axisValue] = wrapIndex(b, loc, index, axisSize);
      return coordinates;
    });
  }
};

/// ScatterND: the update at i..., rest... lands at indices[i...], rest...
struct LegalizeScatterND : ScatterPattern {
  LegalizeScatterND(const TypeConverter &converter, MLIRContext *context)
      : ScatterPattern("ScatterND", converter, context) {}

  FailureOr<Target> getTarget(const Node &node, OpBuilder &b, Location loc, Value data,
                              Value indices, Value updates,
                              ArrayRef<Value> dataSizes) const override {
    int64_t dataRank = rankOf(data), indicesRank = rankOf(indices);
    FailureOr<int64_t> length =
        getIndexTupleLength(node, b, loc, indices, dataRank, updates, "updates");
    if (failed(length))
      return failure();
    // updates is laid out as indices' leading dimensions, then data's after the tuple's.
    for (int64_t dim = 0; dim < rankOf(updates); ++dim) {
      bool fromIndices = dim < indicesRank - 1;
      if (failed(requireDim(node, b, loc, updates, "updates", dim, fromIndices ? indices : data,
                            fromIndices ? "indices" : "data",
                            fromIndices ? dim : dim - (indicesRank - 1) + *length, false)))
        return failure();
    }
    checkIndexTuplesInRange(node, b, loc, indices, *length, dataSizes, 0);
    SmallVector<Value> sizes(dataSizes);
    int64_t lengthValue = *length;
    return Target([=](OpBuilder &b, Location loc, ValueRange ivs) {
      SmallVector<Value> coordinates =
          readIndexTuple(b, loc, indices, ivs.take_front(indicesRank - 1), lengthValue, sizes, 0);
      llvm::append_range(coordinates, ivs.drop_front(indicesRank - 1));
      return coordinates;
    });
  }
};

/// NonZero: the [rank, count] int64 coordinates of the non-zero elements, row-major.
struct LegalizeNonZero : IndexingPattern {
  LegalizeNonZero(const TypeConverter &converter, MLIRContext *context)
      : IndexingPattern("NonZero", converter, context) {}

  FailureOr<Value> build(const Node &, ValueRange inputs, OpBuilder &b,
                         Location loc) const override {
    Value input = inputs[0];
    int64_t rank = rankOf(input);
    Value count = countNonZero(b, loc, input);
    Value init = tensor::EmptyOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(rank), count}, b.getI64Type());
    return writeEachNonZero(
        b, loc, input, init,
        [&](OpBuilder &nb, Location nl, ValueRange ivs, Value result, Value entry) {
          for (int64_t dim = 0; dim < rank; ++dim) {
            Value coordinate = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), ivs[dim]);
            Value row = arith::ConstantIndexOp::create(nb, nl, dim);
            result = tensor::InsertOp::create(nb, nl, coordinate, result, ValueRange{row, entry});
          }
          return result;
        });
  }
};

/// Copies slice `from` along `axis` of `source` into slice `to` of `dest`; slices have
/// `sliceSizes` (1 on the axis).
Value copySlice(OpBuilder &b, Location loc, Value source, Value from, Value dest, Value to,
                ArrayRef<Value> sliceSizes, int64_t axis) {
  return forEachPosition(
      b, loc, sliceSizes, dest, [&](OpBuilder &nb, Location nl, ValueRange ivs, ValueRange args) {
        SmallVector<Value> position = llvm::to_vector(ivs);
        position[axis] = from;
        Value element = tensor::ExtractOp::create(nb, nl, source, position);
        position[axis] = to;
        return SmallVector<Value>{tensor::InsertOp::create(nb, nl, element, args[0], position)};
      })[0];
}

/// The row-major coordinates of position `linear` in a tensor of `sizes`.
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value linear, ArrayRef<Value> sizes) {
  SmallVector<Value> coordinates(sizes.size());
  for (int64_t dim = sizes.size() - 1; dim >= 0; --dim) {
    coordinates[dim] = arith::RemUIOp::create(b, loc, linear, sizes[dim]);
    linear = arith::DivUIOp::create(b, loc, linear, sizes[dim]);
  }
  return coordinates;
}

/// Compress: the slices of input along axis whose condition is true (input flattened
/// when there is no axis). A condition shorter than the axis drops the rest.
struct LegalizeCompress : IndexingPattern {
  LegalizeCompress(const TypeConverter &converter, MLIRContext *context)
      : IndexingPattern("Compress", converter, context) {}

  FailureOr<Value> build(const Node &node, ValueRange inputs, OpBuilder &b,
                         Location loc) const override {
    Value input = inputs[0], condition = inputs[1];
    if (rankOf(condition) != 1)
      return node.fail("condition must be 1-D");
    if (rankOf(input) == 0)
      return node.fail("input must have rank 1 or more");
    // Without an axis, the condition selects from the row-major flattened input; its
    // elements are addressed by delinearizing rather than by collapsing the input, since
    // a dynamic memref.collapse_shape does not lower on the host (see the report).
    bool flatten = !node->hasNodeAttr("axis");
    FailureOr<int64_t> axis = flatten ? 0 : getAxis(node, 0, rankOf(input));
    if (failed(axis))
      return failure();
    SmallVector<Value> sizes = indexSizes(b, loc, input);
    Value selectableLength = sizes[*axis];
    if (flatten)
      for (Value size : ArrayRef<Value>(sizes).drop_front())
        selectableLength = arith::MulIOp::create(b, loc, selectableLength, size);
    Value selectable = arith::MinUIOp::create(b, loc, tensor::DimOp::create(b, loc, condition, 0),
                                              selectableLength);
    condition = tensor::ExtractSliceOp::create(
        b, loc, condition, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{selectable}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    Value count = countNonZero(b, loc, condition);
    Type elementType = llvm::cast<RankedTensorType>(input.getType()).getElementType();

    if (flatten) {
      Value init = tensor::EmptyOp::create(b, loc, ArrayRef<OpFoldResult>{count}, elementType);
      return writeEachNonZero(
          b, loc, condition, init,
          [&](OpBuilder &nb, Location nl, ValueRange ivs, Value result, Value entry) {
            Value element =
                tensor::ExtractOp::create(nb, nl, input, delinearize(nb, nl, ivs[0], sizes));
            return Value(tensor::InsertOp::create(nb, nl, element, result, entry));
          });
    }
    // Slices are copied element by element: tensor.insert_slice would bufferize to a
    // strided memref.copy, which needs a runtime library the executables do not link.
    SmallVector<Value> sliceSizes(sizes);
    sliceSizes[*axis] = arith::ConstantIndexOp::create(b, loc, 1);
    sizes[*axis] = count;
    Value init = tensor::EmptyOp::create(b, loc, getAsOpFoldResult(ValueRange(sizes)), elementType);
    return writeEachNonZero(
        b, loc, condition, init,
        [&](OpBuilder &nb, Location nl, ValueRange ivs, Value result, Value entry) {
          return copySlice(nb, nl, input, ivs[0], result, entry, sliceSizes, *axis);
        });
  }
};

/// OneHot: values[1] where the index along axis equals indices (negatives counting back
/// from depth), values[0] elsewhere.
struct LegalizeOneHot : IndexingPattern {
  LegalizeOneHot(const TypeConverter &converter, MLIRContext *context)
      : IndexingPattern("OneHot", converter, context) {}

  FailureOr<Value> build(const Node &node, ValueRange inputs, OpBuilder &b,
                         Location loc) const override {
    Value indices = inputs[0], depth = inputs[1], values = inputs[2];
    if (rankOf(depth) > 1)
      return node.fail("depth must be a scalar or a 1-element tensor");
    if (rankOf(values) != 1)
      return node.fail("values must be the 1-D [off_value, on_value]");
    FailureOr<int64_t> axis = getAxis(node, -1, rankOf(indices) + 1);
    if (failed(axis))
      return failure();

    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    SmallVector<Value> depthPosition(rankOf(depth), zero);
    Value depthSize = toIndex(b, loc, tensor::ExtractOp::create(b, loc, depth, depthPosition),
                              node.getInputElementType(1).isUnsignedInteger());
    Value off = tensor::ExtractOp::create(b, loc, values, zero);
    Value on = tensor::ExtractOp::create(b, loc, values, one);
    bool indicesUnsigned = node.getInputElementType(0).isUnsignedInteger();

    SmallVector<Value> sizes = indexSizes(b, loc, indices);
    sizes.insert(sizes.begin() + *axis, depthSize);
    return generate(b, loc, sizes, off.getType(), [&](OpBuilder &nb, Location nl, ValueRange ivs) {
      SmallVector<Value> position = llvm::to_vector(ivs);
      position.erase(position.begin() + *axis);
      Value index = tensor::ExtractOp::create(nb, nl, indices, position);
      Value hot = arith::CmpIOp::create(nb, nl, Pred::eq, ivs[*axis],
                                        wrapIndex(nb, nl, index, depthSize, indicesUnsigned));
      return Value(arith::SelectOp::create(nb, nl, hot, on, off));
    });
  }
};

} // namespace

void moec::legalize::populateIndexingPatterns(RewritePatternSet &patterns,
                                              const TypeConverter &converter) {
  MLIRContext *context = patterns.getContext();
  patterns.add<LegalizeGather, LegalizeGatherElements, LegalizeGatherND, LegalizeScatterND,
               LegalizeNonZero, LegalizeCompress, LegalizeOneHot>(converter, context);
  for (StringRef opType : {"ScatterElements", "Scatter"})
    patterns.add<LegalizeScatterElements>(opType, converter, context);
}
