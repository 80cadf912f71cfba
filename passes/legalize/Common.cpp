//===- Common.cpp - Shared pieces of the ONNX legalization patterns -------===//

#include "Common.h"

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ConstantValues.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Support/DebugStringHelper.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <limits>

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

//===----------------------------------------------------------------------===//
// Node
//===----------------------------------------------------------------------===//

RankedTensorType Node::getResultType(unsigned index) const {
  return llvm::dyn_cast_or_null<RankedTensorType>(
      typeConverter.convertType(op.getResult(index).getType()));
}

Type Node::getInputElementType(unsigned index) const {
  return getElementTypeOrSelf(op.getInputs()[index].getType());
}

Type Node::getResultElementType(unsigned index) const {
  return getElementTypeOrSelf(op.getResult(index).getType());
}

/// "node 'NAME' (OP_TYPE)", how every message about a node starts.
static std::string describeNode(onnx::NodeOp op) {
  StringRef name = op.getName();
  return ("node '" + (name.empty() ? StringRef("<unnamed>") : name) + "' (" + op.getOpType() +
          ")")
      .str();
}

LogicalResult Node::fail(const Twine &message) const {
  op.emitError() << describeNode(op) << ": " << message;
  return failure();
}

void Node::check(OpBuilder &builder, Location loc, Value holds, const Twine &message,
                 ValueRange values) const {
  emitCheck(builder, loc, holds, describeNode(op) + ": ", message, values);
}

void moec::legalize::emitCheck(OpBuilder &builder, Location loc, Value holds,
                               StringRef subject, const Twine &message, ValueRange values) {
  // The subject is the model's text: its braces are not placeholders.
  std::string text;
  for (char c : subject) {
    text.push_back(c);
    if (c == '{')
      text.push_back('{');
  }
  moe::CheckOp::create(builder, loc, holds, builder.getStringAttr(text + message.str()),
                       values);
}

//===----------------------------------------------------------------------===//
// NodePattern
//===----------------------------------------------------------------------===//

LogicalResult NodePattern::matchAndRewrite(onnx::NodeOp op, OpAdaptor adaptor,
                                           ConversionPatternRewriter &rewriter) const {
  if (op.getOpType() != opType || !op.getDomain().empty())
    return failure();
  Node node(op, *getTypeConverter());
  for (unsigned i = 0, e = op.getNumResults(); i < e; ++i)
    if (!llvm::isa<NoneType>(op.getResult(i).getType()) && !node.getResultType(i))
      return node.fail("output " + Twine(i) + " has type " +
                       debugString(op.getResult(i).getType()) +
                       "; only ranked tensors (known ranks after shape inference) compile");
  ValueRange inputs = adaptor.getInputs();
  if (this->inputs == Inputs::Ranked)
    for (auto [index, input] : llvm::enumerate(inputs))
      if (op.hasInput(index) && !llvm::isa<RankedTensorType>(input.getType()))
        return node.fail("input " + Twine(index) + " is not a ranked tensor");
  return rewrite(node, inputs, rewriter);
}

LogicalResult NodePattern::rewrite(const Node &node, ValueRange inputs,
                                   ConversionPatternRewriter &rewriter) const {
  assert(fn && "a NodePattern without a RewriteFn overrides rewrite");
  return fn(node, inputs, rewriter);
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

ONNXTypeConverter::ONNXTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](IntegerType type) -> Type {
    if (type.isSignless())
      return type;
    return IntegerType::get(type.getContext(), type.getWidth());
  });
  addConversion([this](RankedTensorType type) -> Type {
    Type element = convertType(type.getElementType());
    return element ? type.clone(element) : Type();
  });
  auto bitcast = [](OpBuilder &builder, Type type, ValueRange inputs, Location loc) -> Value {
    if (inputs.size() != 1)
      return Value();
    return tensor::BitcastOp::create(builder, loc, type, inputs[0]);
  };
  addSourceMaterialization(bitcast);
  addTargetMaterialization(bitcast);
}

//===----------------------------------------------------------------------===//
// Builders
//===----------------------------------------------------------------------===//

SmallVector<Value> moec::legalize::dynamicSizes(OpBuilder &builder, Location loc, Value value) {
  SmallVector<Value> sizes;
  auto type = llvm::cast<RankedTensorType>(value.getType());
  for (int64_t dim = 0, rank = type.getRank(); dim < rank; ++dim)
    if (type.isDynamicDim(dim))
      sizes.push_back(tensor::DimOp::create(builder, loc, value, dim));
  return sizes;
}

Value moec::legalize::castToType(OpBuilder &builder, Location loc, Value value, Type type) {
  if (value.getType() == type)
    return value;
  return tensor::CastOp::create(builder, loc, type, value);
}

std::optional<int64_t> moec::legalize::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

Value moec::legalize::buildElementwise(
    const Node &node, OpBuilder &builder, Location loc, RankedTensorType resultType, ValueRange operands,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  int64_t rank = resultType.getRank();
  MLIRContext *context = builder.getContext();

  // Each result dimension's size: static if the result type or any operand knows it,
  // otherwise that of the first operand whose dimension is dynamic there.
  SmallVector<OpFoldResult> sizes;
  SmallVector<int64_t> shape;
  SmallVector<std::pair<Value, int64_t>> sizeSources(rank, {Value(), 0});
  for (int64_t dim = 0; dim < rank; ++dim) {
    int64_t size = resultType.getDimSize(dim);
    for (Value operand : operands) {
      auto type = llvm::cast<RankedTensorType>(operand.getType());
      int64_t operandDim = dim - (rank - type.getRank());
      if (operandDim < 0)
        continue;
      int64_t operandSize = type.getDimSize(operandDim);
      if (ShapedType::isDynamic(operandSize)) {
        if (!sizeSources[dim].first)
          sizeSources[dim] = {operand, operandDim};
      } else if (operandSize != 1 && ShapedType::isDynamic(size)) {
        size = operandSize;
      }
    }
    if (ShapedType::isDynamic(size) && !sizeSources[dim].first)
      size = 1; // Every operand has size 1 (or lacks the dimension) here.
    shape.push_back(size);
    if (ShapedType::isDynamic(size)) {
      auto [source, sourceDim] = sizeSources[dim];
      sizes.push_back(tensor::DimOp::create(builder, loc, source, sourceDim).getResult());
    } else {
      sizes.push_back(builder.getIndexAttr(size));
    }
  }

  // Dynamic operand dimensions must match the result's: broadcasting them would need a
  // check per element, and reading past them would be a silent wrong result.
  for (Value operand : operands) {
    auto type = llvm::cast<RankedTensorType>(operand.getType());
    for (int64_t operandDim = 0; operandDim < type.getRank(); ++operandDim) {
      int64_t dim = operandDim + (rank - type.getRank());
      if (!type.isDynamicDim(operandDim) ||
          sizeSources[dim] == std::make_pair(operand, operandDim))
        continue;
      Value actual = tensor::DimOp::create(builder, loc, operand, operandDim);
      Value expected = getValueOrCreateConstantIndexOp(builder, loc, sizes[dim]);
      Value equal =
          arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::eq, actual, expected);
      node.check(builder, loc, equal,
                 "cannot broadcast dimension " + Twine(operandDim) + " of size {0} against {1}",
                 ValueRange{actual, expected});
    }
  }

  SmallVector<AffineMap> maps;
  for (Value operand : operands) {
    auto type = llvm::cast<RankedTensorType>(operand.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t operandDim = 0; operandDim < type.getRank(); ++operandDim) {
      int64_t dim = operandDim + (rank - type.getRank());
      bool broadcast = type.getDimSize(operandDim) == 1 && shape[dim] != 1;
      exprs.push_back(broadcast ? getAffineConstantExpr(0, context)
                                : getAffineDimExpr(dim, context));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, context));
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));

  Value init = tensor::EmptyOp::create(builder, loc, sizes, resultType.getElementType());
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc, init.getType(), operands, init, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = body(nested, nestedLoc, args.drop_back());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return castToType(builder, loc, generic.getResult(0), resultType);
}

LogicalResult moec::legalize::requireDim(const Node &node, OpBuilder &b, Location loc, Value value,
                         StringRef valueName, int64_t dim, Value bound, StringRef boundName,
                         int64_t boundDim, bool atMost) {
  int64_t size = llvm::cast<RankedTensorType>(value.getType()).getDimSize(dim);
  int64_t boundSize = llvm::cast<RankedTensorType>(bound.getType()).getDimSize(boundDim);
  auto message = [&](const Twine &sizeText, const Twine &boundText) {
    return ("dimension " + Twine(dim) + " of " + valueName + " is " + sizeText +
            (atMost ? ", larger than " : ", not ") + "dimension " + Twine(boundDim) + " of " +
            boundName + " (" + boundText + ")")
        .str();
  };
  if (!ShapedType::isDynamic(size) && !ShapedType::isDynamic(boundSize)) {
    if (atMost ? size <= boundSize : size == boundSize)
      return success();
    return node.fail(message(Twine(size), Twine(boundSize)));
  }
  Value actual = tensor::DimOp::create(b, loc, value, dim);
  Value limit = tensor::DimOp::create(b, loc, bound, boundDim);
  Value holds = arith::CmpIOp::create(b, loc, atMost ? arith::CmpIPredicate::ule : arith::CmpIPredicate::eq, actual, limit);
  node.check(b, loc, holds, message("{0}", "{1}"), ValueRange{actual, limit});
  return success();
}

Value moec::legalize::normalizeRuntimeAxis(const Node &node, OpBuilder &builder, Location loc,
                                          Value axis, int64_t rank) {
  Type type = axis.getType();
  auto constant = [&](int64_t value) {
    return arith::ConstantOp::create(builder, loc, builder.getIntegerAttr(type, value));
  };
  Value rankValue = constant(rank);
  Value zero = constant(0);
  Value negative = arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::slt, axis, zero);
  Value normalized = arith::SelectOp::create(
      builder, loc, negative, arith::AddIOp::create(builder, loc, axis, rankValue), axis);
  Value inRange = arith::AndIOp::create(
      builder, loc,
      arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::sge, normalized, zero),
      arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::slt, normalized, rankValue));
  node.check(builder, loc, inRange, "axis {0} is out of range for rank " + Twine(rank), axis);
  return normalized;
}

TypedAttr moec::legalize::retypeElements(ElementsAttr elements, RankedTensorType type) {
  constexpr int64_t kInlineElements = 16;
  if (auto dense = llvm::dyn_cast<DenseElementsAttr>(elements))
    return dense.bitcast(type.getElementType());
  auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(elements);
  if (!resource)
    return {};
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  // LLVM translates no resource of bools, and ONNX stores one byte per bool where dense
  // elements pack bits: bools are always inlined.
  bool bools = type.getElementType().isInteger(1);
  if (!blob || (type.getNumElements() > kInlineElements && !bools))
    return DenseResourceElementsAttr::get(type, resource.getRawHandle());
  ArrayRef<char> bytes = blob->getData();
  if (bools) {
    SmallVector<bool> values = llvm::map_to_vector(bytes, [](char b) { return b != 0; });
    return DenseElementsAttr::get(type, ArrayRef<bool>(values));
  }
  return DenseElementsAttr::getFromRawBuffer(type, bytes);
}

std::optional<SmallVector<int64_t>> moec::legalize::getConstantInts(Value value) {
  ElementsAttr elements;
  if (auto constant = value.getDefiningOp<arith::ConstantOp>())
    elements = llvm::dyn_cast<ElementsAttr>(constant.getValue());
  else if (auto constant = value.getDefiningOp<onnx::ConstantOp>())
    elements = constant.getValue();
  else if (auto cast = value.getDefiningOp<tensor::BitcastOp>())
    return getConstantInts(cast.getSource());
  return onnx::getIntValues(elements, std::numeric_limits<int64_t>::max());
}
