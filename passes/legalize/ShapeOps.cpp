//===- ShapeOps.cpp - Shapes, reshapes and data movement ------------------===//
//
// ONNX passes shapes, axes, starts and repeats as tensors, and its node tests feed them as
// graph inputs: every integer operand here is read at run time (tensor.extract, which folds
// away when it is a constant), while sizes that the node's result type knows statically are
// taken from the type.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <functional>

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

namespace {

/// The longest 1-D int64 Concat built element by element, as shapes are: more than any
/// tensor rank in practice.
constexpr int64_t kMaxShapeLength = 16;

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

/// Element `index` of the 1-D integer tensor `tensor` (or its only element if it is a
/// scalar), taken from a constant or a from_elements (shapes built by Shape and Concat)
/// where it can be.
Value extractElement(OpBuilder &b, Location loc, Value tensor, int64_t index) {
  auto type = llvm::cast<RankedTensorType>(tensor.getType());
  if (std::optional<SmallVector<int64_t>> values = getConstantInts(tensor))
    if (index < int64_t(values->size()))
      return arith::ConstantOp::create(
          b, loc, IntegerAttr::get(type.getElementType(), (*values)[index]));
  if (auto elements = tensor.getDefiningOp<tensor::FromElementsOp>())
    if (index < int64_t(elements.getElements().size()))
      return elements.getElements()[index];
  SmallVector<Value> indices;
  if (type.getRank() == 1)
    indices.push_back(indexConstant(b, loc, index));
  return tensor::ExtractOp::create(b, loc, tensor, indices);
}

/// extractElement as an index; a size from Shape is its tensor.dim again.
Value extractIndex(OpBuilder &b, Location loc, Value tensor, int64_t index) {
  Value element = extractElement(b, loc, tensor, index);
  if (std::optional<int64_t> constant = getConstantIntValue(element))
    return indexConstant(b, loc, *constant);
  if (auto cast = element.getDefiningOp<arith::IndexCastOp>())
    if (cast.getIn().getType().isIndex())
      return cast.getIn();
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), element);
}

/// The number of elements of a 1-D operand, which must be static: it fixes a rank.
std::optional<int64_t> staticLength(Value tensor) {
  auto type = llvm::cast<RankedTensorType>(tensor.getType());
  if (type.getRank() != 1 || type.isDynamicDim(0))
    return std::nullopt;
  return type.getDimSize(0);
}

/// `type`'s sizes: static ones from the type, dynamic ones from `dynamicSize(dim)`.
SmallVector<OpFoldResult> sizesOf(OpBuilder &b, RankedTensorType type,
                                  function_ref<Value(int64_t)> dynamicSize) {
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    sizes.push_back(type.isDynamicDim(dim) ? OpFoldResult(dynamicSize(dim))
                                           : OpFoldResult(b.getIndexAttr(type.getDimSize(dim))));
  return sizes;
}

SmallVector<Value> dynamicValues(ArrayRef<OpFoldResult> sizes) {
  SmallVector<Value> values;
  for (OpFoldResult size : sizes)
    if (auto value = llvm::dyn_cast<Value>(size))
      values.push_back(value);
  return values;
}

RankedTensorType typeOfSizes(ArrayRef<OpFoldResult> sizes, Type elementType) {
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, elementType);
}

Value emptyOf(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

/// `result[i...] = element(i...)` over `resultType` with sizes `sizes`.
Value generate(OpBuilder &b, Location loc, RankedTensorType resultType,
               ArrayRef<OpFoldResult> sizes,
               function_ref<Value(OpBuilder &, Location, ValueRange)> element) {
  RankedTensorType type = typeOfSizes(sizes, resultType.getElementType());
  Value result = tensor::GenerateOp::create(
      b, loc, type, dynamicValues(sizes), [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) {
        tensor::YieldOp::create(nested, nestedLoc, element(nested, nestedLoc, indices));
      });
  return castToType(b, loc, result, resultType);
}

/// `result[i...] = input[sourceIndices(i...)]` over `resultType` with sizes `sizes`.
Value gather(OpBuilder &b, Location loc, Value input, RankedTensorType resultType,
             ArrayRef<OpFoldResult> sizes,
             function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> sourceIndices) {
  return generate(b, loc, resultType, sizes,
                  [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) -> Value {
                    return tensor::ExtractOp::create(nested, nestedLoc, input,
                                                     sourceIndices(nested, nestedLoc, indices));
                  });
}

/// A gather whose source index along each dimension depends on the result index along the
/// same dimension only: `result[i...] = input[sourceIndex(d, i_d)...]`.
Value gatherPerDimension(
    OpBuilder &b, Location loc, Value input, RankedTensorType resultType,
    ArrayRef<OpFoldResult> sizes,
    function_ref<Value(OpBuilder &, Location, int64_t dim, Value index)> sourceIndex) {
  return gather(b, loc, input, resultType, sizes,
                [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) {
                  SmallVector<Value> sourceIndices;
                  for (auto [dim, index] : llvm::enumerate(indices))
                    sourceIndices.push_back(sourceIndex(nested, nestedLoc, dim, index));
                  return sourceIndices;
                });
}

/// A reassociation between shapes with dynamic sizes is only a guess at which sizes
/// multiply into which: it is taken when every group holding a dynamic size has at most
/// one size other than 1 on its many-dimensions side, so that nothing needs guessing.
std::optional<SmallVector<ReassociationIndices>> unambiguousReassociation(RankedTensorType from,
                                                                         RankedTensorType to) {
  if (from.getRank() == to.getRank())
    return std::nullopt;
  RankedTensorType collapsed = from.getRank() < to.getRank() ? from : to;
  RankedTensorType expanded = from.getRank() < to.getRank() ? to : from;
  std::optional<SmallVector<ReassociationIndices>> reassociation =
      getReassociationIndicesForReshape(from, to);
  if (!reassociation)
    return std::nullopt;
  for (auto [collapsedDim, group] : llvm::enumerate(*reassociation)) {
    bool dynamic = collapsed.isDynamicDim(collapsedDim) ||
                   llvm::any_of(group, [&](int64_t dim) { return expanded.isDynamicDim(dim); });
    if (dynamic && llvm::count_if(group, [&](int64_t dim) {
                     return expanded.getDimSize(dim) != 1;
                   }) > 1)
      return std::nullopt;
  }
  return reassociation;
}

/// `input`'s elements in the same order under the shape `sizes`: a collapse or expand where
/// the shapes allow one, else tensor.reshape.
Value reshapeTo(OpBuilder &b, Location loc, Value input, RankedTensorType resultType,
                ArrayRef<OpFoldResult> sizes) {
  auto inputType = llvm::cast<RankedTensorType>(input.getType());
  RankedTensorType targetType = typeOfSizes(sizes, inputType.getElementType());
  Value result;
  if (inputType.hasStaticShape() && inputType == targetType) {
    result = input;
  } else if (std::optional<SmallVector<ReassociationIndices>> reassociation =
                 unambiguousReassociation(inputType, targetType);
             reassociation && (targetType.getRank() > 0 || inputType.hasStaticShape())) {
    // (A collapse to a scalar takes static unit dims only; dynamic ones are reshaped.)
    if (targetType.getRank() < inputType.getRank())
      result = tensor::CollapseShapeOp::create(b, loc, input, *reassociation);
    else
      result = tensor::ExpandShapeOp::create(b, loc, targetType, input, *reassociation, sizes);
  } else {
    SmallVector<Value> sizeValues =
        llvm::map_to_vector(sizes, [&](OpFoldResult size) {
          return getValueOrCreateConstantIndexOp(b, loc, size);
        });
    // Typed explicitly: a scalar target has no sizes to take the type from.
    Value shape = tensor::FromElementsOp::create(
        b, loc, RankedTensorType::get({int64_t(sizeValues.size())}, b.getIndexType()),
        sizeValues);
    result = tensor::ReshapeOp::create(b, loc, targetType, input, shape);
  }
  return castToType(b, loc, result, resultType);
}

Value mulIndex(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MulIOp::create(b, loc, x, y);
}

Value product(OpBuilder &b, Location loc, Value tensor, int64_t begin, int64_t end) {
  Value result = indexConstant(b, loc, 1);
  for (int64_t dim = begin; dim < end; ++dim)
    result = mulIndex(b, loc, result, tensor::DimOp::create(b, loc, tensor, dim));
  return result;
}

using RewriteFn = NodePattern::RewriteFn;

LogicalResult replace(const Node &node, ConversionPatternRewriter &rewriter, ValueRange values) {
  rewriter.replaceOp(node.getOp(), values);
  return success();
}

LogicalResult failAxis(const Node &node, int64_t axis, int64_t rank) {
  return node.fail("axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
}

int64_t rankOf(Value value) { return llvm::cast<RankedTensorType>(value.getType()).getRank(); }

/// The axes of a node, normalized, from input `inputIndex` (newer opsets) or the `axes`
/// attribute: empty when neither is given, nothing when the input is known only at run time.
FailureOr<std::optional<SmallVector<int64_t>>> readAxes(const Node &node, ValueRange inputs,
                                                        unsigned inputIndex, int64_t rank) {
  std::optional<SmallVector<int64_t>> axes = node->getIntsAttr("axes");
  if (node->hasInput(inputIndex)) {
    axes = getConstantInts(inputs[inputIndex]);
    if (!axes)
      return std::optional<SmallVector<int64_t>>();
  }
  if (!axes)
    return std::optional<SmallVector<int64_t>>(SmallVector<int64_t>());
  for (int64_t &axis : *axes) {
    std::optional<int64_t> normalized = normalizeAxis(axis, rank);
    if (!normalized)
      return failAxis(node, axis, rank);
    axis = *normalized;
  }
  return axes;
}

//===----------------------------------------------------------------------===//
// Shape queries
//===----------------------------------------------------------------------===//

LogicalResult legalizeShape(const Node &node, ValueRange inputs,
                            ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  int64_t rank = rankOf(inputs[0]);
  auto clampAxis = [&](int64_t axis) {
    return std::clamp<int64_t>(axis < 0 ? axis + rank : axis, 0, rank);
  };
  int64_t start = clampAxis(node->getIntAttr("start", 0));
  int64_t end = clampAxis(node->getIntAttr("end", rank));
  // from_elements of tensor.dim values keeps each size visible to folding downstream
  // (Shape -> Gather -> Concat -> Reshape chains).
  SmallVector<Value> sizes;
  for (int64_t dim = start; dim < end; ++dim)
    sizes.push_back(arith::IndexCastOp::create(
        rewriter, loc, rewriter.getI64Type(),
        getValueOrCreateConstantIndexOp(rewriter, loc,
                                        tensor::getMixedSize(rewriter, loc, inputs[0], dim))));
  RankedTensorType resultType = node.getResultType(0);
  if (sizes.empty())
    return replace(node, rewriter,
                   {tensor::EmptyOp::create(rewriter, loc, resultType, ValueRange{}).getResult()});
  Value shape = tensor::FromElementsOp::create(rewriter, loc, sizes);
  return replace(node, rewriter, {castToType(rewriter, loc, shape, resultType)});
}

LogicalResult legalizeSize(const Node &node, ValueRange inputs,
                           ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  Value count = product(rewriter, loc, inputs[0], 0, rankOf(inputs[0]));
  Value size = arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), count);
  Value result = tensor::FromElementsOp::create(rewriter, loc, node.getResultType(0), size);
  return replace(node, rewriter, {result});
}

//===----------------------------------------------------------------------===//
// Reshapes
//===----------------------------------------------------------------------===//

/// Reshape's target sizes read from the shape tensor at run time: 0 copies the input's size
/// (unless allowzero), -1 takes what the other sizes leave.
SmallVector<Value> reshapeSizes(OpBuilder &b, Location loc, Value input, Value shape,
                                int64_t rank, bool allowZero) {
  Value zero = indexConstant(b, loc, 0), one = indexConstant(b, loc, 1);
  Value minusOne = indexConstant(b, loc, -1);
  auto equal = [&](Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
  };
  SmallVector<Value> sizes;
  Value known = one;
  for (int64_t dim = 0; dim < rank; ++dim) {
    Value size = extractIndex(b, loc, shape, dim);
    if (!allowZero && dim < rankOf(input))
      size = arith::SelectOp::create(b, loc, equal(size, zero),
                                     tensor::DimOp::create(b, loc, input, dim), size);
    sizes.push_back(size);
    known = mulIndex(b, loc, known, arith::SelectOp::create(b, loc, equal(size, minusOne), one, size));
  }
  // An empty tensor (an expert that no token chose) can make the known sizes' product 0;
  // the quotient then only matters with a -1, and 0 / 1 gives it the size 0.
  Value divisor = arith::MaxUIOp::create(b, loc, known, one);
  Value inferred =
      arith::DivUIOp::create(b, loc, product(b, loc, input, 0, rankOf(input)), divisor);
  for (Value &size : sizes)
    size = arith::SelectOp::create(b, loc, equal(size, minusOne), inferred, size);
  return sizes;
}

LogicalResult legalizeReshape(const Node &node, ValueRange inputs,
                              ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  RankedTensorType resultType = node.getResultType(0);
  // A shape of unknown length must hold the result's rank of sizes, which shape inference
  // knew: only a known, different length is an error.
  std::optional<int64_t> length = staticLength(inputs[1]);
  if (length && *length != resultType.getRank())
    return node.fail("the shape operand must hold one size per result dimension (" +
                     Twine(resultType.getRank()) + ")");
  auto inputType = llvm::cast<RankedTensorType>(inputs[0].getType());
  if (inputType.hasStaticShape() && resultType.hasStaticShape() &&
      inputType.getNumElements() != resultType.getNumElements())
    return node.fail("the input's " + Twine(inputType.getNumElements()) +
                     " elements do not fill the requested shape (" +
                     Twine(resultType.getNumElements()) + " elements)");
  SmallVector<Value> requested;
  if (!resultType.hasStaticShape())
    requested = reshapeSizes(rewriter, loc, inputs[0], inputs[1], resultType.getRank(),
                             node->getIntAttr("allowzero", 0));
  SmallVector<OpFoldResult> sizes =
      sizesOf(rewriter, resultType, [&](int64_t dim) { return requested[dim]; });
  // Shape inference proved static sizes right; sizes known at run time must hold exactly
  // the input's elements, none negative, or the reshaped buffer would be read past its end.
  if (!resultType.hasStaticShape() || !inputType.hasStaticShape()) {
    Value count = indexConstant(rewriter, loc, 1);
    Value nonNegative = arith::ConstantIntOp::create(rewriter, loc, 1, 1);
    for (OpFoldResult size : sizes) {
      Value value = getValueOrCreateConstantIndexOp(rewriter, loc, size);
      count = mulIndex(rewriter, loc, count, value);
      nonNegative = arith::AndIOp::create(
          rewriter, loc, nonNegative,
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sge, value,
                                indexConstant(rewriter, loc, 0)));
    }
    Value inputCount = product(rewriter, loc, inputs[0], 0, rankOf(inputs[0]));
    Value fits = arith::AndIOp::create(
        rewriter, loc, nonNegative,
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, count, inputCount));
    node.check(rewriter, loc, fits,
               "the input's {0} elements do not fill the requested shape ({1} elements, or a "
               "negative size)",
               ValueRange{inputCount, count});
  }
  return replace(node, rewriter, {reshapeTo(rewriter, loc, inputs[0], resultType, sizes)});
}

LogicalResult legalizeFlatten(const Node &node, ValueRange inputs,
                              ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  int64_t rank = rankOf(inputs[0]);
  int64_t axis = node->getIntAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return failAxis(node, axis, rank);
  if (axis < 0)
    axis += rank;
  RankedTensorType resultType = node.getResultType(0);
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) {
    return dim == 0 ? product(rewriter, loc, inputs[0], 0, axis)
                    : product(rewriter, loc, inputs[0], axis, rank);
  });
  return replace(node, rewriter, {reshapeTo(rewriter, loc, inputs[0], resultType, sizes)});
}

/// Squeeze and Unsqueeze keep the element order: the result type says where the unit
/// dimensions are, and every other size comes from the input.
LogicalResult reshapeKeepingSizes(const Node &node, Value input,
                                  ConversionPatternRewriter &rewriter,
                                  ArrayRef<int64_t> inputDimOfResultDim) {
  Location loc = node->getLoc();
  RankedTensorType resultType = node.getResultType(0);
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) -> Value {
    return tensor::DimOp::create(rewriter, loc, input, inputDimOfResultDim[dim]);
  });
  return replace(node, rewriter, {reshapeTo(rewriter, loc, input, resultType, sizes)});
}

LogicalResult legalizeSqueeze(const Node &node, ValueRange inputs,
                              ConversionPatternRewriter &rewriter) {
  auto inputType = llvm::cast<RankedTensorType>(inputs[0].getType());
  RankedTensorType resultType = node.getResultType(0);
  FailureOr<std::optional<SmallVector<int64_t>>> axes =
      readAxes(node, inputs, 1, inputType.getRank());
  if (failed(axes))
    return failure();
  SmallVector<int64_t> inputDimOfResultDim;
  if (*axes && !(*axes)->empty()) {
    for (int64_t dim = 0; dim < inputType.getRank(); ++dim)
      if (!llvm::is_contained(**axes, dim))
        inputDimOfResultDim.push_back(dim);
  } else if (*axes) {
    for (int64_t dim = 0; dim < inputType.getRank(); ++dim) {
      if (inputType.isDynamicDim(dim))
        return node.fail("without axes, dynamic dimension " + Twine(dim) +
                         " might or might not be squeezed");
      if (inputType.getDimSize(dim) != 1)
        inputDimOfResultDim.push_back(dim);
    }
  } else if (resultType.hasStaticShape()) {
    // Axes known only at run time: the result type already says which survive.
    inputDimOfResultDim.assign(resultType.getRank(), 0);
  } else {
    return node.fail("axes known only at run time need a static result shape");
  }
  if (int64_t(inputDimOfResultDim.size()) != resultType.getRank())
    return node.fail("squeezing leaves rank " + Twine(inputDimOfResultDim.size()) +
                     ", but the result has rank " + Twine(resultType.getRank()));
  return reshapeKeepingSizes(node, inputs[0], rewriter, inputDimOfResultDim);
}

LogicalResult legalizeUnsqueeze(const Node &node, ValueRange inputs,
                                ConversionPatternRewriter &rewriter) {
  RankedTensorType resultType = node.getResultType(0);
  int64_t rank = resultType.getRank();
  FailureOr<std::optional<SmallVector<int64_t>>> axes = readAxes(node, inputs, 1, rank);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> inputDimOfResultDim(rank, 0);
  if (*axes) {
    if (int64_t((*axes)->size()) + rankOf(inputs[0]) != rank)
      return node.fail("inserting " + Twine((*axes)->size()) + " axes into rank " +
                       Twine(rankOf(inputs[0])) + " does not give rank " + Twine(rank));
    for (int64_t dim = 0, inputDim = 0; dim < rank; ++dim)
      if (!llvm::is_contained(**axes, dim))
        inputDimOfResultDim[dim] = inputDim++;
  } else if (!resultType.hasStaticShape()) {
    return node.fail("axes known only at run time need a static result shape");
  }
  return reshapeKeepingSizes(node, inputs[0], rewriter, inputDimOfResultDim);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult legalizeTranspose(const Node &node, ValueRange inputs,
                                ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  int64_t rank = rankOf(inputs[0]);
  SmallVector<int64_t> perm = llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, rank)));
  if (std::optional<SmallVector<int64_t>> attr = node->getIntsAttr("perm"))
    perm = *attr;
  SmallVector<int64_t> sorted = perm;
  llvm::sort(sorted);
  if (sorted != llvm::to_vector(llvm::seq<int64_t>(0, rank)))
    return node.fail("perm is not a permutation of the input's " + Twine(rank) + " dimensions");
  RankedTensorType resultType = node.getResultType(0);
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) -> Value {
    return tensor::DimOp::create(rewriter, loc, inputs[0], perm[dim]);
  });
  Value init = emptyOf(rewriter, loc, sizes, resultType.getElementType());
  Value result = linalg::TransposeOp::create(rewriter, loc, inputs[0], init, perm).getResult()[0];
  return replace(node, rewriter, {castToType(rewriter, loc, result, resultType)});
}

LogicalResult legalizeConcat(const Node &node, ValueRange inputs,
                             ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  RankedTensorType resultType = node.getResultType(0);
  int64_t rank = resultType.getRank();
  std::optional<int64_t> axis = normalizeAxis(node->getIntAttr("axis", 0), rank);
  if (!axis)
    return failAxis(node, node->getIntAttr("axis", 0), rank);
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) -> Value {
    if (dim != *axis)
      return tensor::DimOp::create(rewriter, loc, inputs[0], dim);
    Value total = indexConstant(rewriter, loc, 0);
    for (Value input : inputs)
      total = arith::AddIOp::create(rewriter, loc, total,
                                    tensor::DimOp::create(rewriter, loc, input, dim));
    return total;
  });
  // A shape being assembled (Shape -> Gather -> Concat -> Reshape) stays a from_elements,
  // so that Reshape sees each size.
  bool shapeLike = rank == 1 && resultType.hasStaticShape() &&
                   resultType.getElementType().isInteger(64) &&
                   resultType.getDimSize(0) <= kMaxShapeLength &&
                   llvm::all_of(inputs, [](Value input) { return staticLength(input); });
  if (shapeLike) {
    SmallVector<Value> elements;
    for (Value input : inputs)
      for (int64_t i = 0; i < *staticLength(input); ++i)
        elements.push_back(extractElement(rewriter, loc, input, i));
    return replace(node, rewriter,
                   {tensor::FromElementsOp::create(rewriter, loc, resultType, elements)});
  }
  // A buffer of its own (alloc_tensor, which CSE never merges, unlike tensor.empty): two
  // concatenations of one shape into one shared empty tensor conflict in bufferization,
  // which then copies between strided views (a memref.copy that the host cannot lower).
  RankedTensorType bufferType = typeOfSizes(sizes, resultType.getElementType());
  SmallVector<Value> dynamicDims;
  for (auto [dim, size] : llvm::enumerate(sizes))
    if (bufferType.isDynamicDim(dim))
      dynamicDims.push_back(getValueOrCreateConstantIndexOp(rewriter, loc, size));
  Value result = bufferization::AllocTensorOp::create(rewriter, loc, bufferType, dynamicDims);
  OpFoldResult offset = rewriter.getIndexAttr(0);
  for (Value input : inputs) {
    // An input known to be empty adds nothing, and a slice at its place would be out of
    // bounds of a result that is empty too.
    if (llvm::is_contained(cast<RankedTensorType>(input.getType()).getShape(), 0))
      continue;
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    offsets[*axis] = offset;
    SmallVector<OpFoldResult> inputSizes = tensor::getMixedSizes(rewriter, loc, input);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    // Copying into a slice of the destination bufferizes in place; inserting the input
    // directly would be a strided memref.copy, which needs MLIR's C runner library.
    Value destination = tensor::ExtractSliceOp::create(rewriter, loc, result, offsets,
                                                       inputSizes, strides);
    Value copied = linalg::CopyOp::create(rewriter, loc, input, destination).getResult(0);
    result = tensor::InsertSliceOp::create(rewriter, loc, copied, result, offsets, inputSizes,
                                           strides);
    offset = getAsOpFoldResult(arith::AddIOp::create(
        rewriter, loc, getValueOrCreateConstantIndexOp(rewriter, loc, offset),
        getValueOrCreateConstantIndexOp(rewriter, loc, inputSizes[*axis])));
  }
  return replace(node, rewriter, {castToType(rewriter, loc, result, resultType)});
}

LogicalResult legalizeSplit(const Node &node, ValueRange inputs,
                            ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  Value input = inputs[0];
  int64_t rank = rankOf(input);
  std::optional<int64_t> axis = normalizeAxis(node->getIntAttr("axis", 0), rank);
  if (!axis)
    return failAxis(node, node->getIntAttr("axis", 0), rank);
  unsigned numOutputs = node->getNumResults();
  std::optional<SmallVector<int64_t>> splitAttr = node->getIntsAttr("split");
  bool splitInput = node->hasInput(1);
  // Opset 18 names the number of parts (num_outputs) where no split sizes are given; then
  // parts are ceil(size / num_outputs) long, the last one taking the rest.
  if (node->hasNodeAttr("num_outputs")) {
    if (node->getOpsetVersion().value_or(18) < 18)
      return node.fail("num_outputs is an attribute from opset 18 (the model imports opset " +
                       Twine(*node->getOpsetVersion()) + ")");
    if (splitInput)
      return node.fail("num_outputs and a split input cannot both be given");
    if (node->getIntAttr("num_outputs", 0) != int64_t(numOutputs))
      return node.fail("num_outputs is " + Twine(node->getIntAttr("num_outputs", 0)) +
                       ", but the node has " + Twine(numOutputs) + " outputs");
  }
  if ((splitInput && staticLength(inputs[1]) != int64_t(numOutputs)) ||
      (splitAttr && splitAttr->size() != numOutputs))
    return node.fail("split must give one size per output (" + Twine(numOutputs) + ")");
  Value axisSize = tensor::DimOp::create(rewriter, loc, input, *axis);
  Value zero = indexConstant(rewriter, loc, 0);
  SmallVector<Value> partSizes;
  Value total = zero;
  Value nonNegative = arith::ConstantIntOp::create(rewriter, loc, 1, 1);
  for (unsigned i = 0; i < numOutputs; ++i) {
    RankedTensorType resultType = node.getResultType(i);
    Value partSize;
    if (!resultType.isDynamicDim(*axis))
      partSize = indexConstant(rewriter, loc, resultType.getDimSize(*axis));
    else if (splitAttr)
      partSize = indexConstant(rewriter, loc, (*splitAttr)[i]);
    else if (splitInput)
      partSize = extractIndex(rewriter, loc, inputs[1], i);
    else // Parts of ceil(size / outputs), the last one taking the rest.
      partSize = arith::MinUIOp::create(rewriter, loc,
                                        arith::CeilDivUIOp::create(
                                            rewriter, loc, axisSize,
                                            indexConstant(rewriter, loc, numOutputs)),
                                        arith::SubIOp::create(rewriter, loc, axisSize, total));
    partSizes.push_back(partSize);
    total = arith::AddIOp::create(rewriter, loc, total, partSize);
    nonNegative = arith::AndIOp::create(
        rewriter, loc, nonNegative,
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::sge, partSize, zero));
  }
  // The parts are slices of the input: sizes that overrun it would read past its end.
  Value fits = arith::AndIOp::create(
      rewriter, loc, nonNegative,
      arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, total, axisSize));
  node.check(rewriter, loc, fits,
             "the split sizes add up to {0} (or one is negative), not to the size of axis " +
                 Twine(*axis) + " ({1})",
             ValueRange{total, axisSize});
  SmallVector<Value> results;
  Value offset = zero;
  for (auto [i, partSize] : llvm::enumerate(partSizes)) {
    RankedTensorType resultType = node.getResultType(i);
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    offsets[*axis] = offset;
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, input);
    sizes[*axis] = getAsOpFoldResult(partSize);
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    Value part = tensor::ExtractSliceOp::create(rewriter, loc, input, offsets, sizes, strides);
    // A fresh tensor: the part as a strided view would need MLIR's C runner library to be
    // copied out.
    Value copy = linalg::CopyOp::create(
                     rewriter, loc, part,
                     emptyOf(rewriter, loc, tensor::getMixedSizes(rewriter, loc, part),
                             resultType.getElementType()))
                     .getResult(0);
    results.push_back(castToType(rewriter, loc, copy, resultType));
    offset = arith::AddIOp::create(rewriter, loc, offset, partSize);
  }
  return replace(node, rewriter, results);
}

/// Slice in ONNX's semantics per axis: starts and ends clamped (to [0, size] for positive
/// steps, [-1, size - 1] for negative ones, after adding size to negative values), the
/// result `max(0, ceil((end - start) / step))` long, element i taken at start + i * step.
LogicalResult legalizeSlice(const Node &node, ValueRange inputs,
                            ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  Value input = inputs[0];
  int64_t rank = rankOf(input);
  RankedTensorType resultType = node.getResultType(0);
  auto readList = [&](unsigned index, StringRef attrName) -> std::optional<Value> {
    if (std::optional<SmallVector<int64_t>> attr = node->getIntsAttr(attrName))
      return Value(arith::ConstantOp::create(rewriter, loc, rewriter.getI64TensorAttr(*attr)));
    if (node->hasInput(index))
      return inputs[index];
    return std::nullopt;
  };
  std::optional<Value> starts = readList(1, "starts"), ends = readList(2, "ends");
  std::optional<Value> axesTensor = readList(3, "axes"), steps = readList(4, "steps");
  if (!starts || !ends)
    return node.fail("starts and ends are required");
  std::optional<int64_t> count = staticLength(*starts);
  if (!count || staticLength(*ends) != count || (axesTensor && staticLength(*axesTensor) != count) ||
      (steps && staticLength(*steps) != count))
    return node.fail("starts, ends, axes and steps must be 1-D of one static length");
  // Axes known at compile time pick the sliced dimension directly; axes known only at run
  // time select, for every dimension, the slice that names it.
  std::optional<SmallVector<int64_t>> constantAxes =
      axesTensor ? getConstantInts(*axesTensor)
                 : std::optional(llvm::to_vector(llvm::seq<int64_t>(0, *count)));
  if (constantAxes) {
    for (int64_t &axis : *constantAxes) {
      std::optional<int64_t> normalized = normalizeAxis(axis, rank);
      if (!normalized)
        return failAxis(node, axis, rank);
      axis = *normalized;
    }
  }

  SmallVector<Value> offsets(rank, indexConstant(rewriter, loc, 0));
  SmallVector<Value> strides(rank, indexConstant(rewriter, loc, 1));
  SmallVector<Value> sliceSizes = llvm::map_to_vector(
      llvm::seq<int64_t>(0, rank),
      [&](int64_t dim) -> Value { return tensor::DimOp::create(rewriter, loc, input, dim); });
  Value zero = indexConstant(rewriter, loc, 0);
  Value one = indexConstant(rewriter, loc, 1);
  auto cmp = [&](arith::CmpIPredicate predicate, Value x, Value y) {
    return arith::CmpIOp::create(rewriter, loc, predicate, x, y);
  };
  auto select = [&](Value condition, Value x, Value y) {
    return Value(arith::SelectOp::create(rewriter, loc, condition, x, y));
  };
  auto clamp = [&](Value x, Value low, Value high) {
    return arith::MinSIOp::create(rewriter, loc, arith::MaxSIOp::create(rewriter, loc, x, low),
                                  high);
  };
  for (int64_t i = 0; i < *count; ++i) {
    Value runtimeAxis;
    if (!constantAxes) {
      runtimeAxis = normalizeRuntimeAxis(node, rewriter, loc,
                                         extractIndex(rewriter, loc, *axesTensor, i), rank);
    }
    Value step = steps ? extractIndex(rewriter, loc, *steps, i) : one;
    if (steps)
      node.check(rewriter, loc, cmp(arith::CmpIPredicate::ne, step, zero),
                 "steps[" + Twine(i) + "] is 0");
    Value positive = cmp(arith::CmpIPredicate::sge, step, zero);
    Value startBound = extractIndex(rewriter, loc, *starts, i);
    Value endBound = extractIndex(rewriter, loc, *ends, i);
    for (int64_t dim = 0; dim < rank; ++dim) {
      if (constantAxes && (*constantAxes)[i] != dim)
        continue;
      Value size = tensor::DimOp::create(rewriter, loc, input, dim);
      Value low = select(positive, zero, indexConstant(rewriter, loc, -1));
      Value high = select(positive, size, arith::SubIOp::create(rewriter, loc, size, one));
      auto normalize = [&](Value bound) {
        // Negative bounds count from the end; INT64_MIN / INT64_MAX ("to the end") clamp.
        Value fromEnd = arith::AddIOp::create(rewriter, loc, bound, size);
        return clamp(select(cmp(arith::CmpIPredicate::sge, bound, zero), bound, fromEnd), low,
                     high);
      };
      Value start = normalize(startBound);
      Value distance = arith::SubIOp::create(rewriter, loc, normalize(endBound), start);
      Value length = arith::MaxSIOp::create(
          rewriter, loc, arith::CeilDivSIOp::create(rewriter, loc, distance, step), zero);
      if (constantAxes) {
        offsets[dim] = start;
        strides[dim] = step;
        sliceSizes[dim] = length;
        continue;
      }
      Value named = cmp(arith::CmpIPredicate::eq, runtimeAxis, indexConstant(rewriter, loc, dim));
      offsets[dim] = select(named, start, offsets[dim]);
      strides[dim] = select(named, step, strides[dim]);
      sliceSizes[dim] = select(named, length, sliceSizes[dim]);
    }
  }
  SmallVector<OpFoldResult> sizes =
      sizesOf(rewriter, resultType, [&](int64_t dim) { return sliceSizes[dim]; });
  Value result = gatherPerDimension(
      rewriter, loc, input, resultType, sizes,
      [&](OpBuilder &b, Location nestedLoc, int64_t dim, Value index) -> Value {
        return arith::AddIOp::create(b, nestedLoc, offsets[dim],
                                     mulIndex(b, nestedLoc, index, strides[dim]));
      });
  return replace(node, rewriter, {result});
}

/// numpy broadcasting of the input to the shape tensor: a size 1 on either side yields to
/// the other.
LogicalResult legalizeExpand(const Node &node, ValueRange inputs,
                             ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  Value input = inputs[0];
  auto inputType = llvm::cast<RankedTensorType>(input.getType());
  RankedTensorType resultType = node.getResultType(0);
  int64_t rank = resultType.getRank(), inputRank = inputType.getRank();
  std::optional<int64_t> shapeLength = staticLength(inputs[1]);
  if (!shapeLength || rank != std::max(*shapeLength, inputRank))
    return node.fail("the shape operand must have a static length giving the result's rank");
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) -> Value {
    int64_t inputDim = dim - (rank - inputRank), shapeDim = dim - (rank - *shapeLength);
    if (inputDim < 0)
      return extractIndex(rewriter, loc, inputs[1], shapeDim);
    Value inputSize = tensor::DimOp::create(rewriter, loc, input, inputDim);
    if (shapeDim < 0)
      return inputSize;
    Value shapeSize = extractIndex(rewriter, loc, inputs[1], shapeDim);
    Value shapeIsOne = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, shapeSize,
                                             indexConstant(rewriter, loc, 1));
    return arith::SelectOp::create(rewriter, loc, shapeIsOne, inputSize, shapeSize);
  });
  Value result = gather(
      rewriter, loc, input, resultType, sizes,
      [&](OpBuilder &b, Location nestedLoc, ValueRange indices) {
        SmallVector<Value> sourceIndices;
        for (int64_t inputDim = 0; inputDim < inputRank; ++inputDim) {
          Value index = indices[inputDim + rank - inputRank];
          if (inputType.getDimSize(inputDim) == 1) {
            index = indexConstant(b, nestedLoc, 0);
          } else if (inputType.isDynamicDim(inputDim)) {
            Value size = tensor::DimOp::create(b, nestedLoc, input, inputDim);
            Value isOne = arith::CmpIOp::create(b, nestedLoc, arith::CmpIPredicate::eq, size,
                                                indexConstant(b, nestedLoc, 1));
            index = arith::SelectOp::create(b, nestedLoc, isOne, indexConstant(b, nestedLoc, 0),
                                            index);
          }
          sourceIndices.push_back(index);
        }
        return sourceIndices;
      });
  return replace(node, rewriter, {result});
}

LogicalResult legalizeTile(const Node &node, ValueRange inputs,
                           ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  Value input = inputs[0];
  int64_t rank = rankOf(input);
  if (staticLength(inputs[1]) != rank)
    return node.fail("repeats must hold one count per input dimension (" + Twine(rank) + ")");
  RankedTensorType resultType = node.getResultType(0);
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) {
    return mulIndex(rewriter, loc, tensor::DimOp::create(rewriter, loc, input, dim),
                    extractIndex(rewriter, loc, inputs[1], dim));
  });
  Value result = gatherPerDimension(
      rewriter, loc, input, resultType, sizes,
      [&](OpBuilder &b, Location nestedLoc, int64_t dim, Value index) -> Value {
        return arith::RemUIOp::create(b, nestedLoc, index,
                                      tensor::DimOp::create(b, nestedLoc, input, dim));
      });
  return replace(node, rewriter, {result});
}

/// DepthToSpace (`toSpace`) and SpaceToDepth move blocksize x blocksize tiles of the
/// spatial dimensions into channels and back. DCR orders the channels block-major, CRD
/// channel-major (SpaceToDepth has `mode` from opset 28; before, it is DCR).
LogicalResult legalizeBlockMove(const Node &node, ValueRange inputs,
                                ConversionPatternRewriter &rewriter, bool toSpace) {
  Location loc = node->getLoc();
  Value input = inputs[0];
  if (rankOf(input) != 4)
    return node.fail("only 4-D inputs (N, C, H, W) are supported");
  int64_t blockSize = node->getIntAttr("blocksize", 0);
  if (blockSize < 1)
    return node.fail("blocksize must be positive, not " + Twine(blockSize));
  StringRef mode = node->getStringAttr("mode", "DCR");
  if (mode != "DCR" && mode != "CRD")
    return node.fail("unknown mode '" + mode + "'");
  bool blockMajor = mode == "DCR";
  RankedTensorType resultType = node.getResultType(0);
  int64_t square = blockSize * blockSize;
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) -> Value {
    Value size = tensor::DimOp::create(rewriter, loc, input, dim);
    if (dim == 0)
      return size;
    bool shrinks = (dim == 1) == toSpace;
    int64_t factor = dim == 1 ? square : blockSize;
    Value factorValue = indexConstant(rewriter, loc, factor);
    return shrinks ? Value(arith::DivUIOp::create(rewriter, loc, size, factorValue))
                   : mulIndex(rewriter, loc, size, factorValue);
  });
  Value block = indexConstant(rewriter, loc, blockSize);
  Value result = gather(
      rewriter, loc, input, resultType, sizes,
      [&](OpBuilder &b, Location l, ValueRange indices) -> SmallVector<Value> {
        auto div = [&](Value x, Value y) { return Value(arith::DivUIOp::create(b, l, x, y)); };
        auto rem = [&](Value x, Value y) { return Value(arith::RemUIOp::create(b, l, x, y)); };
        auto add = [&](Value x, Value y) { return Value(arith::AddIOp::create(b, l, x, y)); };
        // The channel dimension of the depth side splits into (block row, block column,
        // channel) when block-major, else (channel, block row, block column).
        Value inputChannels = tensor::DimOp::create(b, l, input, 1);
        Value channels =
            toSpace ? div(inputChannels, indexConstant(b, l, square)) : inputChannels;
        auto depthChannel = [&](Value channel, Value row, Value column) {
          Value blockIndex = add(mulIndex(b, l, row, block), column);
          return blockMajor ? add(mulIndex(b, l, blockIndex, channels), channel)
                            : add(mulIndex(b, l, channel, indexConstant(b, l, square)),
                                  blockIndex);
        };
        if (toSpace) {
          Value row = rem(indices[2], block), column = rem(indices[3], block);
          return {indices[0], depthChannel(indices[1], row, column), div(indices[2], block),
                  div(indices[3], block)};
        }
        Value blockIndex = blockMajor ? div(indices[1], channels)
                                      : rem(indices[1], indexConstant(b, l, square));
        Value channel = blockMajor ? rem(indices[1], channels)
                                   : div(indices[1], indexConstant(b, l, square));
        Value row = div(blockIndex, block), column = rem(blockIndex, block);
        return {indices[0], channel, add(mulIndex(b, l, indices[2], block), row),
                add(mulIndex(b, l, indices[3], block), column)};
      });
  return replace(node, rewriter, {result});
}

//===----------------------------------------------------------------------===//
// Generated tensors
//===----------------------------------------------------------------------===//

TypedAttr scalarAttr(OpBuilder &b, Type type, int64_t value) {
  if (auto floatType = llvm::dyn_cast<FloatType>(type))
    return b.getFloatAttr(floatType, double(value));
  return b.getIntegerAttr(type, value);
}

LogicalResult legalizeConstantOfShape(const Node &node, ValueRange inputs,
                                      ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  RankedTensorType resultType = node.getResultType(0);
  Type elementType = resultType.getElementType();
  Value fill = arith::ConstantOp::create(rewriter, loc, scalarAttr(rewriter, elementType, 0));
  if (ElementsAttr tensor = node->getTensorAttr("value")) {
    if (tensor.getNumElements() != 1)
      return node.fail("value must be a one-element tensor");
    // The importer keeps the attribute's data as a resource or dense elements, typed as
    // ONNX declared it (possibly unsigned): re-typed signless over the same data.
    auto type = RankedTensorType::get(tensor.getShapedType().getShape(), elementType);
    TypedAttr retyped = retypeElements(tensor, type);
    if (!retyped)
      return node.fail("value holds data of a kind compiled code cannot hold yet");
    Value constant = arith::ConstantOp::create(rewriter, loc, type, retyped);
    SmallVector<Value> origin(type.getRank(), indexConstant(rewriter, loc, 0));
    fill = tensor::ExtractOp::create(rewriter, loc, constant, origin);
  }
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t dim) {
    return extractIndex(rewriter, loc, inputs[0], dim);
  });
  Value empty = emptyOf(rewriter, loc, sizes, elementType);
  Value result = linalg::FillOp::create(rewriter, loc, fill, empty).getResult(0);
  return replace(node, rewriter, {castToType(rewriter, loc, result, resultType)});
}

/// start + i * delta for i in [0, ceil((limit - start) / delta)). float16 and bfloat16
/// compute in float32 (stash_type 1, the default from opset 27; before, the spec's running
/// sum in the narrow type is no more exact).
LogicalResult legalizeRange(const Node &node, ValueRange inputs,
                            ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  RankedTensorType resultType = node.getResultType(0);
  Type resultElementType = resultType.getElementType();
  bool isFloat = llvm::isa<FloatType>(resultElementType);
  bool widen = isFloat && resultElementType.getIntOrFloatBitWidth() < 32 &&
               node->getIntAttr("stash_type", 1) == 1;
  Type elementType = widen ? rewriter.getF32Type() : resultElementType;
  auto scalar = [&](Value tensor) {
    Value element = tensor::ExtractOp::create(rewriter, loc, tensor, ValueRange{});
    return widen ? Value(arith::ExtFOp::create(rewriter, loc, elementType, element)) : element;
  };
  Value start = scalar(inputs[0]), limit = scalar(inputs[1]), delta = scalar(inputs[2]);
  Value zero = arith::ConstantOp::create(rewriter, loc, rewriter.getZeroAttr(elementType));
  node.check(rewriter, loc,
             isFloat ? Value(arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::ONE,
                                                   delta, zero))
                     : Value(arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ne, delta,
                                                   zero)),
             "delta is 0");
  SmallVector<OpFoldResult> sizes = sizesOf(rewriter, resultType, [&](int64_t) -> Value {
    Value length;
    if (isFloat) {
      Value quotient = arith::DivFOp::create(
          rewriter, loc, arith::SubFOp::create(rewriter, loc, limit, start), delta);
      length = arith::FPToSIOp::create(rewriter, loc, rewriter.getI64Type(),
                                       math::CeilOp::create(rewriter, loc, quotient));
    } else {
      length = arith::CeilDivSIOp::create(
          rewriter, loc, arith::SubIOp::create(rewriter, loc, limit, start), delta);
    }
    length = arith::IndexCastOp::create(rewriter, loc, rewriter.getIndexType(), length);
    return arith::MaxSIOp::create(rewriter, loc, length, indexConstant(rewriter, loc, 0));
  });
  Value result = generate(
      rewriter, loc, resultType, sizes, [&](OpBuilder &b, Location l, ValueRange indices) {
        if (isFloat) {
          Value i = arith::IndexCastOp::create(b, l, b.getI64Type(), indices[0]);
          Value step = arith::MulFOp::create(b, l, arith::SIToFPOp::create(b, l, elementType, i),
                                             delta);
          Value element = arith::AddFOp::create(b, l, start, step);
          return widen ? Value(arith::TruncFOp::create(b, l, resultElementType, element))
                       : element;
        }
        Value i = arith::IndexCastOp::create(b, l, elementType, indices[0]);
        return Value(arith::AddIOp::create(b, l, start, arith::MulIOp::create(b, l, i, delta)));
      });
  return replace(node, rewriter, {result});
}

/// The diagonal offset `column - row` of a generated element of a matrix (the last two
/// indices), compared with `k`.
Value diagonalTest(OpBuilder &b, Location loc, ValueRange indices, Value k,
                   arith::CmpIPredicate predicate) {
  Value row = indices[indices.size() - 2], column = indices.back();
  Value offset = arith::SubIOp::create(b, loc, column, row);
  return arith::CmpIOp::create(b, loc, predicate, offset, k);
}

LogicalResult legalizeTrilu(const Node &node, ValueRange inputs,
                            ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  Value input = inputs[0];
  if (rankOf(input) < 2)
    return node.fail("the input must have rank 2 or more");
  RankedTensorType resultType = node.getResultType(0);
  Value k = node->hasInput(1) ? extractIndex(rewriter, loc, inputs[1], 0)
                             : indexConstant(rewriter, loc, 0);
  auto predicate = node->getIntAttr("upper", 1) ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, input);
  Value result = generate(rewriter, loc, resultType, sizes,
                          [&](OpBuilder &b, Location l, ValueRange indices) -> Value {
                            Value element = tensor::ExtractOp::create(b, l, input, indices);
                            Value zero = arith::ConstantOp::create(
                                b, l, b.getZeroAttr(resultType.getElementType()));
                            return arith::SelectOp::create(
                                b, l, diagonalTest(b, l, indices, k, predicate), element, zero);
                          });
  return replace(node, rewriter, {result});
}

LogicalResult legalizeEyeLike(const Node &node, ValueRange inputs,
                              ConversionPatternRewriter &rewriter) {
  Location loc = node->getLoc();
  if (rankOf(inputs[0]) != 2)
    return node.fail("the input must be 2-D");
  RankedTensorType resultType = node.getResultType(0);
  Type elementType = resultType.getElementType();
  Value k = indexConstant(rewriter, loc, node->getIntAttr("k", 0));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(rewriter, loc, inputs[0]);
  Value result = generate(rewriter, loc, resultType, sizes,
                          [&](OpBuilder &b, Location l, ValueRange indices) -> Value {
                            Value one = arith::ConstantOp::create(b, l, scalarAttr(b, elementType, 1));
                            Value zero = arith::ConstantOp::create(b, l, b.getZeroAttr(elementType));
                            return arith::SelectOp::create(
                                b, l, diagonalTest(b, l, indices, k, arith::CmpIPredicate::eq),
                                one, zero);
                          });
  return replace(node, rewriter, {result});
}

} // namespace

namespace {
/// A moe.refine_shape becomes a tensor.cast after a check of each dim it makes static. The
/// sizes checked are the ones the source's producer computes from its own inputs, checked
/// before it runs: canonicalization folds the cast into the producer, which then loops over
/// the declared sizes, and a check of the source's own dims would compare them with
/// themselves.
struct LegalizeRefineShape : OpConversionPattern<moe::RefineShapeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(moe::RefineShapeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Value source = adaptor.getSource();
    auto resultType = dyn_cast_if_present<RankedTensorType>(
        getTypeConverter()->convertType(op.getResult().getType()));
    if (!resultType)
      return failure();
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> sizes = producerSizes(source, rewriter);
    for (auto [dim, declared] : llvm::enumerate(resultType.getShape())) {
      if (ShapedType::isDynamic(declared) || !ShapedType::isDynamic(
                                                  cast<RankedTensorType>(source.getType())
                                                      .getDimSize(dim)))
        continue;
      Value size = getValueOrCreateConstantIndexOp(rewriter, loc, sizes[dim]);
      Value expected = arith::ConstantIndexOp::create(rewriter, loc, declared);
      Value holds =
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, size, expected);
      emitCheck(rewriter, loc, holds, op.getWhat(),
                " has {0} in dimension " + Twine(dim) +
                    " at run time, where the model declares {1}",
                ValueRange{size, expected});
    }
    rewriter.setInsertionPoint(op);
    rewriter.replaceOpWithNewOp<tensor::CastOp>(op, resultType, source);
    return success();
  }

private:
  /// The sizes of `source`, reified from its producer's operands and placed before the
  /// producer where it can say them; else its own dims. Leaves `rewriter` where the sizes
  /// are.
  static SmallVector<OpFoldResult> producerSizes(Value source,
                                                 ConversionPatternRewriter &rewriter) {
    auto result = dyn_cast<OpResult>(source);
    if (result) {
      rewriter.setInsertionPoint(result.getOwner());
      ReifiedRankedShapedTypeDims reified;
      if (succeeded(reifyResultShapes(rewriter, result.getOwner(), reified)))
        return reified[result.getResultNumber()];
    }
    rewriter.setInsertionPointAfterValue(source);
    return tensor::getMixedSizes(rewriter, source.getLoc(), source);
  }
};
} // namespace

void moec::legalize::populateShapePatterns(RewritePatternSet &patterns,
                                           const TypeConverter &converter) {
  MLIRContext *context = patterns.getContext();
  patterns.add<LegalizeRefineShape>(converter, context);
  auto add = [&](StringRef opType, RewriteFn fn) {
    patterns.add<NodePattern>(opType, std::move(fn), converter, context,
                              NodePattern::Inputs::Ranked);
  };
  add("Shape", legalizeShape);
  add("Size", legalizeSize);
  add("Reshape", legalizeReshape);
  add("Flatten", legalizeFlatten);
  add("Squeeze", legalizeSqueeze);
  add("Unsqueeze", legalizeUnsqueeze);
  add("Transpose", legalizeTranspose);
  add("Concat", legalizeConcat);
  add("Split", legalizeSplit);
  add("Slice", legalizeSlice);
  add("Expand", legalizeExpand);
  add("Tile", legalizeTile);
  add("DepthToSpace", [](const Node &node, ValueRange inputs, ConversionPatternRewriter &r) {
    return legalizeBlockMove(node, inputs, r, /*toSpace=*/true);
  });
  add("SpaceToDepth", [](const Node &node, ValueRange inputs, ConversionPatternRewriter &r) {
    return legalizeBlockMove(node, inputs, r, /*toSpace=*/false);
  });
  add("ConstantOfShape", legalizeConstantOfShape);
  add("Range", legalizeRange);
  add("Trilu", legalizeTrilu);
  add("EyeLike", legalizeEyeLike);
}
