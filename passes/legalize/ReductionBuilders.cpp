//===- ReductionBuilders.cpp - Builders of reductions and normalizations --===//
//
// The builders of ReductionBuilders.h: reductions into tensors without the reduced
// dimensions, elementwise maps that read reduced values back through projected indexing
// maps, arg-extremum positions, and the float casts normalizations compute through.
//
//===----------------------------------------------------------------------===//

#include "ReductionBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
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

Value moec::legalize::scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (llvm::isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
  return arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, int64_t(value)));
}

/// The map from the input's dimensions to those a reduced operand keeps.
static AffineMap reducedMap(MLIRContext *context, ArrayRef<bool> reduced, int64_t numLoops) {
  SmallVector<AffineExpr> exprs;
  for (auto [dim, isReduced] : llvm::enumerate(reduced))
    if (!isReduced)
      exprs.push_back(getAffineDimExpr(dim, context));
  return AffineMap::get(numLoops, 0, exprs, context);
}

/// An empty tensor of `input`'s shape without its reduced dimensions.
static Value emptyReduced(OpBuilder &b, Location loc, Value input, ArrayRef<bool> reduced,
                          Type elementType) {
  SmallVector<OpFoldResult> sizes;
  for (auto [dim, isReduced] : llvm::enumerate(reduced))
    if (!isReduced)
      sizes.push_back(tensor::getMixedSize(b, loc, input, dim));
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

Value moec::legalize::filled(OpBuilder &b, Location loc, Value empty, Value value) {
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

Value moec::legalize::buildReduction(OpBuilder &b, Location loc, Value input,
                                     ArrayRef<bool> reduced, ValueRange reducedOperands,
                                     Value init, ScalarBody body) {
  MLIRContext *context = b.getContext();
  int64_t rank = reduced.size();
  SmallVector<Value> inputs = {input};
  llvm::append_range(inputs, reducedOperands);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, context)};
  maps.append(reducedOperands.size() + 1, reducedMap(context, reduced, rank));
  SmallVector<utils::IteratorType> iterators = llvm::map_to_vector(reduced, [](bool r) {
    return r ? utils::IteratorType::reduction : utils::IteratorType::parallel;
  });
  Value accumulator =
      filled(b, loc, emptyReduced(b, loc, input, reduced, init.getType()), init);
  return linalg::GenericOp::create(
             b, loc, accumulator.getType(), inputs, accumulator, maps, iterators,
             [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               linalg::YieldOp::create(nested, nestedLoc, body(nested, nestedLoc, args));
             })
      .getResult(0);
}

Value moec::legalize::buildWithReduced(OpBuilder &b, Location loc, Value input,
                                       ArrayRef<bool> reduced, ValueRange reducedOperands,
                                       Type elementType, ScalarBody body) {
  MLIRContext *context = b.getContext();
  int64_t rank = reduced.size();
  SmallVector<Value> inputs = {input};
  llvm::append_range(inputs, reducedOperands);
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
  SmallVector<AffineMap> maps = {identity};
  maps.append(reducedOperands.size(), reducedMap(context, reduced, rank));
  maps.push_back(identity);
  Value init = tensor::EmptyOp::create(b, loc, tensor::getMixedSizes(b, loc, input),
                                       elementType);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, init, maps, iterators,
             [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               linalg::YieldOp::create(nested, nestedLoc,
                                       body(nested, nestedLoc, args.drop_back()));
             })
      .getResult(0);
}

Value moec::legalize::reducedCount(OpBuilder &b, Location loc, Value input,
                                   ArrayRef<bool> reduced) {
  Value count = arith::ConstantIndexOp::create(b, loc, 1);
  for (auto [dim, isReduced] : llvm::enumerate(reduced))
    if (isReduced)
      count = arith::MulIOp::create(b, loc, count, tensor::DimOp::create(b, loc, input, dim));
  return count;
}

Value moec::legalize::expandReduced(OpBuilder &b, Location loc, Value value,
                                    ArrayRef<bool> reduced, RankedTensorType type) {
  // Each kept dimension starts a group; a reduced one joins the group before it (the first
  // group when it leads).
  SmallVector<ReassociationIndices> groups;
  SmallVector<OpFoldResult> shape;
  SmallVector<int64_t> staticShape;
  ReassociationIndices leading;
  int64_t kept = 0;
  for (auto [dim, isReduced] : llvm::enumerate(reduced)) {
    if (isReduced) {
      shape.push_back(b.getIndexAttr(1));
      staticShape.push_back(1);
      (groups.empty() ? leading : groups.back()).push_back(dim);
      continue;
    }
    OpFoldResult size = tensor::getMixedSize(b, loc, value, kept++);
    shape.push_back(size);
    staticShape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
    groups.push_back(leading);
    groups.back().push_back(dim);
    leading.clear();
  }
  auto expandedType = RankedTensorType::get(staticShape, type.getElementType());
  Value expanded = tensor::ExpandShapeOp::create(b, loc, expandedType, value, groups, shape);
  return castToType(b, loc, expanded, type);
}

Value moec::legalize::linearReducedIndex(OpBuilder &b, Location loc, ArrayRef<bool> reduced,
                                ArrayRef<Value> sizes) {
  Value linear;
  for (auto [dim, isReduced] : llvm::enumerate(reduced)) {
    if (!isReduced)
      continue;
    Value index = linalg::IndexOp::create(b, loc, dim);
    linear = linear ? arith::AddIOp::create(
                          b, loc, arith::MulIOp::create(b, loc, linear, sizes[dim]), index)
                    : index;
  }
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), linear);
}

Value moec::legalize::orderedCompare(OpBuilder &b, Location loc, bool greater, Value x,
                                     Value y, bool isUnsigned) {
  if (llvm::isa<FloatType>(x.getType()))
    return arith::CmpFOp::create(
        b, loc, greater ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT, x, y);
  using Pred = arith::CmpIPredicate;
  Pred predicate = greater ? (isUnsigned ? Pred::ugt : Pred::sgt)
                           : (isUnsigned ? Pred::ult : Pred::slt);
  return arith::CmpIOp::create(b, loc, predicate, x, y);
}

Value moec::legalize::equalTo(OpBuilder &b, Location loc, Value x, Value y) {
  if (llvm::isa<FloatType>(x.getType()))
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, x, y);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x, y);
}

Value moec::legalize::extremeIdentity(OpBuilder &b, Location loc, Type type, bool greatest,
                                      bool isUnsigned) {
  if (auto floatType = llvm::dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc, type,
        b.getFloatAttr(type, APFloat::getInf(floatType.getFloatSemantics(), greatest)));
  unsigned width = type.getIntOrFloatBitWidth();
  APInt value = greatest ? (isUnsigned ? APInt::getMinValue(width)
                                       : APInt::getSignedMinValue(width))
                         : (isUnsigned ? APInt::getMaxValue(width)
                                       : APInt::getSignedMaxValue(width));
  return arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, value));
}

Value moec::legalize::buildArgExtremum(OpBuilder &b, Location loc, Value input,
                                       ArrayRef<bool> reduced, bool greatest, bool last,
                                       bool isUnsigned) {
  MLIRContext *context = b.getContext();
  int64_t rank = reduced.size();
  Type elementType = llvm::cast<RankedTensorType>(input.getType()).getElementType();
  SmallVector<Value> sizes;
  for (int64_t dim = 0; dim < rank; ++dim)
    sizes.push_back(tensor::DimOp::create(b, loc, input, dim));
  Value values = filled(b, loc, emptyReduced(b, loc, input, reduced, elementType),
                        extremeIdentity(b, loc, elementType, greatest, isUnsigned));
  Value indices = filled(b, loc, emptyReduced(b, loc, input, reduced, b.getI64Type()),
                         scalarConstant(b, loc, b.getI64Type(), 0));
  AffineMap kept = reducedMap(context, reduced, rank);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, context), kept, kept};
  SmallVector<utils::IteratorType> iterators = llvm::map_to_vector(reduced, [](bool r) {
    return r ? utils::IteratorType::reduction : utils::IteratorType::parallel;
  });
  // The choice compares (value, position) pairs, so it is the same in any reduction order.
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{values.getType(), indices.getType()}, input,
      ValueRange{values, indices}, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value x = args[0], best = args[1], bestIndex = args[2];
        Value index = linearReducedIndex(nb, nl, reduced, sizes);
        Value better = orderedCompare(nb, nl, greatest, x, best, isUnsigned);
        Value tieWins = arith::AndIOp::create(
            nb, nl, equalTo(nb, nl, x, best),
            arith::CmpIOp::create(nb, nl,
                                  last ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::slt,
                                  index, bestIndex));
        Value take = arith::OrIOp::create(nb, nl, better, tieWins);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, take, x, best),
                       arith::SelectOp::create(nb, nl, take, index, bestIndex)});
      });
  return generic.getResult(1);
}

Value moec::legalize::castFloat(OpBuilder &b, Location loc, Value x, Type type) {
  auto from = llvm::cast<FloatType>(x.getType());
  auto to = llvm::cast<FloatType>(type);
  if (from == to)
    return x;
  if (from.getWidth() < to.getWidth())
    return arith::ExtFOp::create(b, loc, to, x);
  return arith::TruncFOp::create(b, loc, to, x);
}

Value moec::legalize::convertFloats(const Node &node, OpBuilder &b, Location loc, Value value,
                                    Type type) {
  auto valueType = llvm::cast<RankedTensorType>(value.getType());
  if (valueType.getElementType() == type)
    return value;
  return buildElementwise(node, b, loc, valueType.clone(type), value,
                          [&](OpBuilder &nb, Location nl, ValueRange args) {
                            return castFloat(nb, nl, args[0], type);
                          });
}

Type moec::legalize::computeFloatType(Type type) {
  if (type.getIntOrFloatBitWidth() < 32)
    return Float32Type::get(type.getContext());
  return type;
}

FailureOr<RankedTensorType> moec::legalize::getRankedInput(const Node &node, Value input) {
  auto type = llvm::dyn_cast<RankedTensorType>(input.getType());
  if (!type)
    return node.fail("input 0 is not a ranked tensor");
  return type;
}

FailureOr<int64_t> moec::legalize::getAxis(const Node &node, int64_t axis, int64_t rank) {
  std::optional<int64_t> normalized = normalizeAxis(axis, rank);
  if (!normalized)
    return node.fail("axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
  return *normalized;
}
