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

FailureOr<StackedLayer> moec::raise::makeStackedLayer(Routing routing, ExpertBody body,
                                                     Reason &reason) {
  int64_t experts = routing.getNumExperts();
  if (body.up.getNumExperts() != experts || body.down.getNumExperts() != experts)
    return reason = "the router chooses among " + std::to_string(experts) +
                    " experts but the stacked weights hold " +
                    std::to_string(body.down.getNumExperts()),
           failure();
  return StackedLayer{std::move(routing), std::move(body)};
}

LogicalResult moec::raise::replaceWithStackedLayer(PatternRewriter &rewriter, onnx::NodeOp node,
                                                   const StackedLayer &layer,
                                                   RaiseRemarks &remarks, bool &sawError) {
  const Routing &routing = layer.routing;
  const ExpertBody &body = layer.body;
  auto tokensType = llvm::cast<RankedTensorType>(routing.router.input.getType());
  auto resultType = llvm::dyn_cast<RankedTensorType>(node->getResult(0).getType());
  if (!resultType || failed(verifyCompatibleShape(resultType, tokensType)) ||
      resultType.getElementType() != tokensType.getElementType()) {
    remarks.notRaised(node, describe(node) + " not raised to moe.layer: its result type " +
                                "differs from the tokens'");
    return failure();
  }
  rewriter.setInsertionPoint(node);
  SmallVector<ColumnRun, 2> upRuns = getUpColumnRuns(body);
  ColumnRun downRun{0, 1, body.down.getOutSize()};
  FailureOr<Value> upWeight = buildStackedWeight(rewriter, body.up, upRuns);
  FailureOr<Value> downWeight = buildStackedWeight(rewriter, body.down, downRun);
  FailureOr<Value> upBias = buildStackedBias(rewriter, body.up, upRuns);
  FailureOr<Value> downBias = buildStackedBias(rewriter, body.down, downRun);
  FailureOr<Value> routerWeight = buildRouterWeight(rewriter, routing.router);
  if (failed(upWeight) || failed(downWeight) || failed(upBias) || failed(downBias) ||
      failed(routerWeight)) {
    // The error is reported; the pass fails.
    sawError = true;
    return failure();
  }
  Value result = moe::LayerOp::create(
      rewriter, node.getLoc(), tokensType, routing.router.input, *upWeight, *downWeight,
      *routerWeight, /*router_logits=*/Value(), routing.router.bias, routing.scoreBias, *upBias,
      *downBias, /*shared_up=*/Value(), /*shared_down=*/Value(), /*shared_gate=*/Value(),
      routing.getAttr(rewriter.getContext()), body.getAttr(rewriter.getContext()));
  if (result.getType() != resultType)
    result = tensor::CastOp::create(rewriter, node.getLoc(), resultType, result);
  rewriter.replaceOp(node, result);
  return success();
}
