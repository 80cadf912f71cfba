//===- RaiseGatheredMoE.cpp - Per-token gathered experts to moe.layer -----===//
//
// transformers 5's `batched_mm` experts (the implementation its exports use) compute every
// (token, slot) pair's expert at once: the tokens repeated k times, each row's expert
// weights gathered from the stacked `[E, ...]` parameters by its expert id, a batched
// MatMul per projection, the rows weighted by their routing weight and summed over the k
// slots of each token. That is moe.layer's result, computed for every chosen pair; raising
// makes it sparse in moe's own kernels.
//
// The pattern anchors on the sum over the slots and walks back: the weighting to the router
// (RouterMatcher.h), the slot rows through the expert body (ExpertMatcher.h) whose
// projections are gathered MatMuls, to the repeated tokens.
//
//===----------------------------------------------------------------------===//

#include "ExpertMatcher.h"
#include "LayerOperands.h"
#include "ONNXMatch.h"
#include "RaiseDriver.h"
#include "RouterMatcher.h"

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Raise/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace moec {
#define GEN_PASS_DEF_RAISEGATHEREDMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;

namespace {

RankedTensorType getRanked(Value value) {
  return llvm::dyn_cast<RankedTensorType>(value.getType());
}

//===----------------------------------------------------------------------===//
// The sum over the slots
//===----------------------------------------------------------------------===//

/// `y[t, h] = sum_s rows[t * k + s, h] * weights[t, s]`: the expert rows `[T * k, H]` and the
/// weights `[T, k]` (as multiplied, casts looked through).
struct SlotSum {
  Value rows;
  Value weights;
  int64_t k = 0;
};

/// `ReduceSum(z, axes = [1], keepdims = 0)` with `z` `[T, k, H]` the product of the rows and
/// the weights, each viewed (reshapes keep the row-major order) as `[T * k, .]` or
/// `[T, k, .]` alike, the weights with a last dim of 1.
std::optional<SlotSum> matchSlotSum(onnx::NodeOp reduce) {
  if (!reduce.getDomain().empty() || reduce.getOpType() != "ReduceSum" ||
      reduce.getIntAttr("keepdims", 1) != 0)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> axes =
      reduce.hasInput(1) ? getIntConstant(reduce.getInputs()[1]) : reduce.getIntsAttr("axes");
  RankedTensorType summed = getRanked(reduce.getInputs()[0]);
  if (!axes || *axes != SmallVector<int64_t>{1} || !summed || summed.getRank() != 3 ||
      summed.isDynamicDim(1) || summed.isDynamicDim(2))
    return std::nullopt;
  onnx::NodeOp mul = getDefiningNode(skipReshapes(reduce.getInputs()[0]), "Mul");
  if (!mul || mul.getInputs().size() != 2)
    return std::nullopt;
  for (unsigned weightIndex : {0u, 1u}) {
    Value weightsView = mul.getInputs()[weightIndex], rowsView = mul.getInputs()[1 - weightIndex];
    RankedTensorType weightsType = getRanked(weightsView), rowsType = getRanked(rowsView);
    if (!weightsType || !rowsType || weightsType.getRank() != rowsType.getRank() ||
        weightsType.getRank() < 2 || weightsType.getShape().back() != 1 ||
        rowsType.getShape().back() != summed.getDimSize(2) ||
        weightsType.getShape().drop_back() != rowsType.getShape().drop_back())
      continue;
    Value rows = skipReshapesToRank(rowsView, 2);
    Value weights = skipFloatCasts(skipReshapes(weightsView));
    RankedTensorType slotWeights = getRanked(weights);
    if (!rows || getRanked(rows).getDimSize(1) != summed.getDimSize(2) || !slotWeights ||
        slotWeights.getRank() != 2 || slotWeights.getDimSize(1) != summed.getDimSize(1))
      continue;
    return SlotSum{rows, weights, summed.getDimSize(1)};
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Gathered projections
//===----------------------------------------------------------------------===//

/// Whether `value` is a float constant of rank `rank` with static dims.
bool isStaticFloatConstant(Value value, int64_t rank) {
  auto constant = value ? value.getDefiningOp<onnx::ConstantOp>() : onnx::ConstantOp();
  auto type = constant ? llvm::dyn_cast<RankedTensorType>(constant.getType()) : nullptr;
  return type && type.getRank() == rank && type.hasStaticShape() &&
         llvm::isa<FloatType>(type.getElementType());
}

/// Each row's slice of a stacked constant, by the row's expert: `GatherND(stack,
/// Unsqueeze(ids, -1))` or `Gather(stack, ids, axis = 0)`, the ids a view of the TopK's
/// indices. The stack and the TopK, or nothing.
std::optional<std::pair<Value, onnx::NodeOp>> matchRowsOfStack(Value value, int64_t rank) {
  Value stack, ids;
  if (onnx::NodeOp gatherND = getDefiningNode(value, "GatherND")) {
    RankedTensorType indices = getRanked(gatherND.getInputs()[1]);
    if (gatherND.getIntAttr("batch_dims", 0) != 0 || !indices || indices.getRank() != 2 ||
        indices.getDimSize(1) != 1)
      return std::nullopt;
    stack = gatherND.getInputs()[0];
    ids = gatherND.getInputs()[1];
  } else if (onnx::NodeOp gather = getDefiningNode(value, "Gather")) {
    RankedTensorType indices = getRanked(gather.getInputs()[1]);
    if (gather.getIntAttr("axis", 0) != 0 || !indices || indices.getRank() != 1)
      return std::nullopt;
    stack = gather.getInputs()[0];
    ids = gather.getInputs()[1];
  } else {
    return std::nullopt;
  }
  Value chosen = skipReshapes(ids);
  onnx::NodeOp topK = getDefiningNode(chosen, "TopK");
  if (!topK || topK->getResult(1) != chosen || !isStaticFloatConstant(stack, rank))
    return std::nullopt;
  return std::make_pair(stack, topK);
}

/// Matches projections over per-row gathered weights, all by one TopK's choice.
class GatheredProjections {
public:
  /// `MatMul(W[ids], x viewed [N, in, 1])` for a stack W `[E, out, in]`, or
  /// `MatMul(x viewed [N, 1, in], W[ids])` for W `[E, in, out]`, viewed as `[N, out]`;
  /// optionally plus `B[ids]` for a bias stack B `[E, out]`.
  FailureOr<Linear> match(Value output, Reason &reason) {
    Linear linear;
    linear.stacked = true;
    Value product = output;
    if (onnx::NodeOp add = getDefiningNode(output, "Add")) {
      std::optional<unsigned> biasIndex = matchEitherInput(add, [&](Value value) {
        auto rows = matchRowsOfStack(skipReshapes(value), 2);
        return rows && succeeded(checkTopK(rows->second, reason)) &&
               (linear.bias = rows->first, true);
      });
      if (!biasIndex)
        return reason = describe(add) + " adds no expert bias gathered by the chosen experts",
               failure();
      product = add.getInputs()[1 - *biasIndex];
    }
    onnx::NodeOp matmul = getDefiningNode(skipReshapes(product), "MatMul");
    RankedTensorType outputType = getRanked(output);
    if (!matmul || !outputType || outputType.getRank() != 2)
      return reason = "'" + describeValue(product) +
                      "' is not a projection over weights gathered by expert (a MatMul viewed "
                      "as [rows, out])",
             failure();
    for (unsigned weightIndex : {0u, 1u}) {
      auto rows = matchRowsOfStack(matmul.getInputs()[weightIndex], 3);
      if (!rows)
        continue;
      if (failed(checkTopK(rows->second, reason)))
        return failure();
      // The stack is [E, out, in] when it comes first (W x), [E, in, out] when second (x W).
      linear.weight = rows->first;
      linear.weightIsOutIn = weightIndex == 0;
      Value vector = matmul.getInputs()[1 - weightIndex];
      RankedTensorType vectorType = getRanked(vector);
      unsigned unitDim = weightIndex == 0 ? 2 : 1;
      linear.input = skipReshapesToRank(vector, 2);
      if (!vectorType || vectorType.getRank() != 3 || vectorType.getDimSize(unitDim) != 1 ||
          !linear.input ||
          getRanked(linear.input).getDimSize(1) != vectorType.getDimSize(3 - unitDim) ||
          vectorType.getDimSize(3 - unitDim) != linear.getInSize() ||
          outputType.getDimSize(1) != linear.getOutSize())
        return reason = describe(matmul) + " does not multiply each row by its expert's matrix",
               failure();
      if (linear.bias && getRanked(linear.bias).getShape() !=
                             ArrayRef<int64_t>{linear.getNumExperts(), linear.getOutSize()})
        return reason = describe(matmul) + "'s bias is not one row per expert", failure();
      return linear;
    }
    return reason = describe(matmul) + " multiplies no weights gathered by the chosen experts",
           failure();
  }

  onnx::NodeOp getTopK() const { return topK; }

private:
  static std::string describeValue(Value value) {
    Operation *op = value.getDefiningOp();
    return op ? describe(op) : std::string("a block argument");
  }

  /// Every projection gathers by the one TopK.
  LogicalResult checkTopK(onnx::NodeOp candidate, Reason &reason) {
    if (!topK)
      topK = candidate;
    if (topK != candidate)
      return reason = "the projections gather by the choices of different TopKs", failure();
    return success();
  }

  onnx::NodeOp topK;
};

/// Whether `rows` `[T * k, H]` are `tokens` `[T, H]` each repeated k times in a row
/// (`repeat_interleave(tokens, k, dim=0)`): a view of `Expand` or `Tile` of
/// `Unsqueeze(tokens, 1)` to `[T, k, H]`.
bool isRepeatedTokens(Value rows, Value tokens, int64_t k) {
  Value repeated = skipReshapes(rows);
  RankedTensorType repeatedType = getRanked(repeated), tokensType = getRanked(tokens);
  if (!repeatedType || !tokensType || repeatedType.getRank() != 3 ||
      repeatedType.getDimSize(1) != k || tokensType.getRank() != 2)
    return false;
  onnx::NodeOp node = repeated.getDefiningOp<onnx::NodeOp>();
  if (!node || !node.getDomain().empty() || node.getInputs().size() != 2)
    return false;
  onnx::NodeOp unsqueeze = getDefiningNode(node.getInputs()[0], "Unsqueeze");
  if (!unsqueeze || unsqueeze.getInputs()[0] != tokens || !hasIntsInput(unsqueeze, 1, {1}))
    return false;
  if (node.getOpType() == "Tile")
    return hasIntsInput(node, 1, {1, k, 1});
  std::optional<SmallVector<int64_t>> shape =
      node.getOpType() == "Expand" ? getExpandShape(node.getInputs()[1]) : std::nullopt;
  int64_t hidden = tokensType.getDimSize(1);
  return shape && shape->size() == 3 && (*shape)[0] == 1 && (*shape)[1] == k &&
         ((*shape)[2] == 1 || (*shape)[2] == hidden);
}

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

struct GatheredLayer {
  Routing routing;
  ExpertBody body;
  std::optional<SharedExpert> shared;
};

/// Whether every weight has the tokens' element type, as moe.layer needs.
bool haveTokensElementType(const GatheredLayer &layer) {
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

FailureOr<GatheredLayer> matchGatheredLayer(onnx::NodeOp reduce, const SlotSum &sum,
                                            Reason &reason) {
  GatheredProjections projections;
  FailureOr<ExpertBody> body = matchExpertBody(
      /*input=*/Value(), sum.rows, reason,
      [&](Value output, Reason &why) { return projections.match(output, why); });
  if (failed(body))
    return failure();
  FailureOr<Routing> routing = matchRouting(projections.getTopK(), reason);
  if (failed(routing))
    return failure();
  if (routing->k != sum.k)
    return reason = "the slots summed are not the router's k", failure();
  if (skipFloatCasts(routing->weights) != sum.weights)
    return reason = "the expert rows are not weighted by the router's weights", failure();
  Value tokens = routing->router.input;
  if (!isRepeatedTokens(body->up.input, tokens, sum.k))
    return reason = "the experts do not read the router's tokens repeated for each slot",
           failure();
  int64_t experts = routing->getNumExperts();
  if (body->up.getNumExperts() != experts || body->down.getNumExperts() != experts)
    return reason = "the router chooses among " + std::to_string(experts) +
                    " experts but the stacked weights hold " +
                    std::to_string(body->down.getNumExperts()),
           failure();
  GatheredLayer layer{std::move(*routing), std::move(*body), std::nullopt};
  layer.shared = matchSharedExpert(reduce->getResult(0), tokens, layer.body);
  if (!haveTokensElementType(layer))
    return reason = "weights and tokens have different element types", failure();
  return layer;
}

/// A router or score bias of E elements as moe.layer takes it, `[E]`.
Value asExpertVector(OpBuilder &builder, Value bias) {
  auto type = bias ? getRanked(bias) : RankedTensorType();
  if (!type || type.getRank() == 1)
    return bias;
  return retypeConstant(builder, bias,
                        RankedTensorType::get({type.getNumElements()}, type.getElementType()));
}

/// Raises one layer of gathered experts, anchored on its sum over the slots. A layer whose
/// weights cannot be rearranged (written to a temporary file) is an error and sets
/// `sawError`, which fails the pass.
struct RaiseGatheredLayer : RaisePattern {
  using RaisePattern::RaisePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    std::optional<SlotSum> sum = matchSlotSum(node);
    if (!sum)
      return failure();
    Reason reason;
    FailureOr<GatheredLayer> layer = matchGatheredLayer(node, *sum, reason);
    if (failed(layer)) {
      remarks.notRaised(node, describe(node) + " not raised to moe.layer: " + reason);
      return failure();
    }
    RankedTensorType tokensType = getRanked(layer->routing.router.input);
    Type resultType = node->getResult(0).getType();
    if (!tensor::CastOp::areCastCompatible(resultType, tokensType)) {
      remarks.notRaised(node, describe(node) + " not raised to moe.layer: its result type " +
                                  "differs from the tokens'");
      return failure();
    }
    const ExpertBody &body = layer->body;
    rewriter.setInsertionPoint(node);
    SmallVector<ColumnRun, 2> upRuns = getUpColumnRuns(body);
    ColumnRun downRun{0, 1, body.down.getOutSize()};
    FailureOr<Value> upWeight = buildStackedWeight(rewriter, body.up, upRuns);
    FailureOr<Value> downWeight = buildStackedWeight(rewriter, body.down, downRun);
    FailureOr<Value> upBias = buildStackedBias(rewriter, body.up, upRuns);
    FailureOr<Value> downBias = buildStackedBias(rewriter, body.down, downRun);
    FailureOr<Value> routerWeight = buildRouterWeight(rewriter, layer->routing.router);
    FailureOr<SharedExpertWeights> shared = SharedExpertWeights();
    if (layer->shared)
      shared = buildSharedExpertWeights(rewriter, node.getLoc(), (node.getName() + "/moe.").str(),
                                        *layer->shared);
    if (failed(upWeight) || failed(downWeight) || failed(upBias) || failed(downBias) ||
        failed(routerWeight) || failed(shared)) {
      // The error is reported; the pass fails.
      sawError = true;
      return failure();
    }
    Value result = moe::LayerOp::create(
        rewriter, node.getLoc(), tokensType, layer->routing.router.input, *upWeight, *downWeight,
        *routerWeight, /*router_logits=*/Value(),
        asExpertVector(rewriter, layer->routing.router.bias),
        asExpertVector(rewriter, layer->routing.scoreBias), *upBias, *downBias, shared->up,
        shared->down, shared->gate, layer->routing.getAttr(rewriter.getContext()),
        body.getAttr(rewriter.getContext()));
    result = castLayerResult(rewriter, result, resultType);
    // With a shared expert, the layer stands for the routed sum plus the shared expert: what
    // read that sum (or its view back to the input's shape) reads the layer.
    if (layer->shared)
      rewriter.replaceAllUsesWith(layer->shared->result, layer->shared->unflattenedSum
                                                              ? layer->shared->unflattenedSum
                                                              : result);
    rewriter.replaceOp(node, result);
    return success();
  }
};

struct RaiseGatheredMoEPass : moec::impl::RaiseGatheredMoEBase<RaiseGatheredMoEPass> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseGatheredLayer>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
