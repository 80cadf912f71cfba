//===- LayerOperands.cpp - moe.layer's operands from matched weights ------===//

#include "LayerOperands.h"

#include "WeightStack.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace moec;
using namespace moec::raise;

StringRef moec::raise::getConstantName(Value value) {
  return value.getDefiningOp<onnx::ConstantOp>().getName();
}

Value moec::raise::retypeConstant(OpBuilder &builder, Value value, RankedTensorType type) {
  auto constant = value.getDefiningOp<onnx::ConstantOp>();
  ElementsAttr attr;
  if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    attr = DenseResourceElementsAttr::get(type, resource.getRawHandle());
  else
    attr = llvm::cast<DenseElementsAttr>(constant.getValue()).reshape(type);
  return onnx::ConstantOp::create(builder, constant.getLoc(), type, constant.getName(), attr);
}

FailureOr<Value> moec::raise::buildRouterWeight(OpBuilder &builder, const Linear &router) {
  if (router.weightIsOutIn)
    return router.weight;
  ConstantBytes weight = *getConstantBytes(router.weight);
  int64_t hidden = weight.type.getDimSize(0), experts = weight.type.getDimSize(1);
  auto type = RankedTensorType::get({experts, hidden}, weight.type.getElementType());
  return createWeightStack(
      builder, router.weight.getLoc(), type,
      (getConstantName(router.weight) + ".transposed").str(), 1, experts, [&](int64_t) {
        return ExpertColumns{
            SourceColumns::ofMatrix(weight, 0, experts, hidden, /*transposed=*/true)};
      });
}

Value moec::raise::castLayerResult(OpBuilder &builder, Value result, Type declared) {
  if (result.getType() == declared)
    return result;
  if (!tensor::CastOp::areCastCompatible(result.getType(), declared))
    return {};
  return tensor::CastOp::create(builder, result.getLoc(), declared, result);
}

SmallVector<ColumnRun, 2> moec::raise::getUpColumnRuns(const ExpertBody &body) {
  int64_t out = body.up.getOutSize();
  if (body.interleaved)
    return {ColumnRun{0, 2, out / 2}, ColumnRun{1, 2, out / 2}};
  return {ColumnRun{0, 1, out}};
}

/// Whether `runs` take every column of an `[in, out]` matrix in order.
static bool isEveryColumn(ArrayRef<ColumnRun> runs, int64_t out) {
  return runs.size() == 1 && runs[0].first == 0 && runs[0].step == 1 && runs[0].count == out;
}

static int64_t countRunColumns(ArrayRef<ColumnRun> runs) {
  int64_t columns = 0;
  for (const ColumnRun &run : runs)
    columns += run.count;
  return columns;
}

FailureOr<Value> moec::raise::buildStackedWeight(OpBuilder &builder, const Linear &linear,
                                                 ArrayRef<ColumnRun> runs) {
  int64_t experts = linear.getNumExperts(), in = linear.getInSize(), out = linear.getOutSize();
  if (!linear.weightIsOutIn && isEveryColumn(runs, out))
    return linear.weight;
  ConstantBytes weight = *getConstantBytes(linear.weight);
  auto type = RankedTensorType::get({experts, in, countRunColumns(runs)},
                                    weight.type.getElementType());
  return createWeightStack(builder, linear.weight.getLoc(), type,
                           (getConstantName(linear.weight) + ".moe_layout").str(), experts, in,
                           [&](int64_t expert) {
                             ExpertColumns columns;
                             for (const ColumnRun &run : runs)
                               columns.push_back(SourceColumns::ofMatrix(
                                   weight, expert * in * out, in, out, linear.weightIsOutIn,
                                   run.first, run.step, run.count));
                             return columns;
                           });
}

FailureOr<Value> moec::raise::buildStackedBias(OpBuilder &builder, const Linear &linear,
                                               ArrayRef<ColumnRun> runs) {
  if (!linear.bias)
    return Value();
  int64_t experts = linear.getNumExperts(), out = linear.getOutSize();
  ConstantBytes bias = *getConstantBytes(linear.bias);
  auto type = RankedTensorType::get({experts, countRunColumns(runs)}, bias.type.getElementType());
  if (isEveryColumn(runs, out))
    return retypeConstant(builder, linear.bias, type);
  return createWeightStack(builder, linear.bias.getLoc(), type,
                           (getConstantName(linear.bias) + ".moe_layout").str(), experts, 1,
                           [&](int64_t expert) {
                             ExpertColumns columns;
                             for (const ColumnRun &run : runs)
                               columns.push_back(SourceColumns::ofMatrix(
                                   bias, expert * out, 1, out, /*transposed=*/false, run.first,
                                   run.step, run.count));
                             return columns;
                           });
}

/// All columns of a per-expert (not stacked) Linear's weight as `[in, out]`.
static SourceColumns allColumns(const Linear &linear) {
  return SourceColumns::ofMatrix(*getConstantBytes(linear.weight), 0, linear.getInSize(),
                                 linear.getOutSize(), linear.weightIsOutIn);
}

FailureOr<SharedExpertWeights>
moec::raise::buildSharedExpertWeights(OpBuilder &builder, Location loc, StringRef prefix,
                                      const SharedExpert &shared) {
  const ExpertBody &body = shared.body;
  Type element = getElementTypeOrSelf(body.up.weight.getType());
  auto create = [&](StringRef name, int64_t rows, ExpertColumns columns) {
    return createWeightStack(builder, loc,
                             RankedTensorType::get({rows, countColumns(columns)}, element),
                             (prefix + name).str(), 1, rows,
                             [&](int64_t) { return columns; });
  };
  ExpertColumns upColumns;
  if (body.gate)
    upColumns.push_back(allColumns(*body.gate));
  upColumns.push_back(allColumns(body.up));
  SharedExpertWeights weights;
  FailureOr<Value> up = create("shared_up", body.up.getInSize(), upColumns);
  FailureOr<Value> down = create("shared_down", body.down.getInSize(), {allColumns(body.down)});
  if (failed(up) || failed(down))
    return failure();
  weights.up = *up;
  weights.down = *down;
  if (shared.gate) {
    FailureOr<Value> gate = create("shared_gate", shared.gate->getInSize(),
                                   {allColumns(*shared.gate)});
    if (failed(gate))
      return failure();
    weights.gate = *gate;
  }
  return weights;
}
