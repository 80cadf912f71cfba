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

/// Whether every weight has the tokens' element type, as moe.layer needs.
static bool haveTokensElementType(const StackedLayer &layer) {
  Type element = getElementTypeOrSelf(layer.routing.router.input.getType());
  auto same = [&](Value value) {
    return !value || getElementTypeOrSelf(value.getType()) == element;
  };
  auto sameLinear = [&](const Linear &linear) {
    return same(linear.weight) && same(linear.bias);
  };
  const ExpertBody &body = layer.body;
  bool ok = sameLinear(layer.routing.router) && same(layer.routing.scoreBias) &&
            sameLinear(body.up) && sameLinear(body.down);
  if (layer.shared)
    ok = ok && sameLinear(layer.shared->body.up) && sameLinear(layer.shared->body.down) &&
         (!layer.shared->body.gate || sameLinear(*layer.shared->body.gate)) &&
         (!layer.shared->gate || sameLinear(*layer.shared->gate));
  return ok;
}

FailureOr<StackedLayer> moec::raise::makeStackedLayer(Value routedSum, Routing routing,
                                                     ExpertBody body, Reason &reason) {
  int64_t experts = routing.getNumExperts();
  if (body.up.getNumExperts() != experts || body.down.getNumExperts() != experts)
    return reason = "the router chooses among " + std::to_string(experts) +
                    " experts but the stacked weights hold " +
                    std::to_string(body.down.getNumExperts()),
           failure();
  StackedLayer layer{std::move(routing), std::move(body), std::nullopt};
  layer.shared = matchSharedExpert(routedSum, layer.routing.router.input, layer.body);
  if (!haveTokensElementType(layer))
    return reason = "weights and tokens have different element types", failure();
  return layer;
}

Value moec::raise::asExpertVector(OpBuilder &builder, Value bias) {
  auto type = bias ? llvm::dyn_cast<RankedTensorType>(bias.getType()) : RankedTensorType();
  if (!type || type.getRank() == 1)
    return bias;
  return retypeConstant(builder, bias,
                        RankedTensorType::get({type.getNumElements()}, type.getElementType()));
}

LogicalResult moec::raise::replaceWithStackedLayer(PatternRewriter &rewriter, onnx::NodeOp node,
                                                   const StackedLayer &layer,
                                                   RaiseRemarks &remarks, bool &sawError) {
  const Routing &routing = layer.routing;
  const ExpertBody &body = layer.body;
  auto tokensType = llvm::cast<RankedTensorType>(routing.router.input.getType());
  Type resultType = node->getResult(0).getType();
  if (!tensor::CastOp::areCastCompatible(resultType, tokensType)) {
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
  FailureOr<SharedExpertWeights> shared = SharedExpertWeights();
  if (layer.shared)
    shared = buildSharedExpertWeights(rewriter, node.getLoc(), (node.getName() + "/moe.").str(),
                                      *layer.shared);
  if (failed(upWeight) || failed(downWeight) || failed(upBias) || failed(downBias) ||
      failed(routerWeight) || failed(shared)) {
    // The error is reported; the pass fails.
    sawError = true;
    return failure();
  }
  Value result = moe::LayerOp::create(
      rewriter, node.getLoc(), tokensType, routing.router.input, *upWeight, *downWeight,
      *routerWeight, /*router_logits=*/Value(), asExpertVector(rewriter, routing.router.bias),
      asExpertVector(rewriter, routing.scoreBias), *upBias, *downBias, shared->up, shared->down,
      shared->gate, routing.getAttr(rewriter.getContext(), layer.weighInputs),
      body.getAttr(rewriter.getContext()));
  result = castLayerResult(rewriter, result, resultType);
  // With a shared expert, the layer stands for the routed sum plus the shared expert: what
  // read that sum (or its view back to the input's shape) reads the layer.
  if (layer.shared)
    rewriter.replaceAllUsesWith(layer.shared->result, layer.shared->unflattenedSum
                                                          ? layer.shared->unflattenedSum
                                                          : result);
  rewriter.replaceOp(node, result);
  return success();
}

std::string GlueBuilder::name(StringRef what) {
  return (anchor.getName() + "/moe." + what).str();
}

Value GlueBuilder::node(StringRef opType, StringRef what, Type type, ValueRange inputs,
                        ArrayRef<NamedAttribute> attrs) {
  return onnx::NodeOp::create(rewriter, anchor.getLoc(), TypeRange{type},
                              rewriter.getStringAttr(opType), rewriter.getStringAttr(""),
                              rewriter.getStringAttr(name(what)),
                              rewriter.getDictionaryAttr(attrs), inputs,
                              /*subgraphsCount=*/0)
      ->getResult(0);
}

Value GlueBuilder::i64s(StringRef what, ArrayRef<int64_t> values, bool scalar) {
  auto type = scalar ? RankedTensorType::get({}, rewriter.getI64Type())
                     : RankedTensorType::get({int64_t(values.size())}, rewriter.getI64Type());
  return onnx::ConstantOp::create(rewriter, anchor.getLoc(), type, name(what),
                                  DenseElementsAttr::get(type, values));
}

NamedAttribute GlueBuilder::axis(int64_t value) {
  return rewriter.getNamedAttr("axis", rewriter.getI64IntegerAttr(value));
}
