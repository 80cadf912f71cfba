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

#include "ExpertChoice.h"
#include "ExpertMatcher.h"
#include "LayerOperands.h"
#include "ONNXMatch.h"
#include "RaiseDriver.h"
#include "RouterMatcher.h"
#include "SlotSum.h"

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

//===----------------------------------------------------------------------===//
// The sum over the slots
//===----------------------------------------------------------------------===//

/// `y[t, h] = sum_s rows[t * k + s, h] * weights[t, s]`: the expert rows `[T * k, H]` and the
/// weights `[T, k]` (as multiplied, casts looked through).
struct WeightedSlotSum {
  Value rows;
  Value weights;
  int64_t k = 0;
};

/// A slot sum (SlotSum.h) of the product of the rows and the weights, each viewed (reshapes
/// keep the row-major order) as `[T * k, .]` or `[T, k, .]` alike, the weights with a last
/// dim of 1.
std::optional<WeightedSlotSum> matchWeightedSlotSum(onnx::NodeOp reduce) {
  std::optional<SlotSum> sum = matchSlotSum(reduce);
  if (!sum)
    return std::nullopt;
  onnx::NodeOp mul = getDefiningNode(skipReshapes(sum->summed), "Mul");
  if (!mul || mul.getInputs().size() != 2)
    return std::nullopt;
  for (unsigned weightIndex : {0u, 1u}) {
    Value weightsView = mul.getInputs()[weightIndex], rowsView = mul.getInputs()[1 - weightIndex];
    RankedTensorType weightsType = getRanked(weightsView), rowsType = getRanked(rowsView);
    if (!weightsType || !rowsType || weightsType.getRank() != rowsType.getRank() ||
        weightsType.getRank() < 2 || weightsType.getShape().back() != 1 ||
        rowsType.getShape().back() != sum->hidden ||
        weightsType.getShape().drop_back() != rowsType.getShape().drop_back())
      continue;
    Value rows = skipReshapesToRank(rowsView, 2);
    Value weights = skipFloatCasts(skipReshapes(weightsView));
    RankedTensorType slotWeights = getRanked(weights);
    if (!rows || getRanked(rows).getDimSize(1) != sum->hidden || !slotWeights ||
        slotWeights.getRank() != 2 || slotWeights.getDimSize(1) != sum->k)
      continue;
    return WeightedSlotSum{rows, weights, sum->k};
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Gathered projections
//===----------------------------------------------------------------------===//

/// Each row's slice of a stacked constant, by the row's expert: `GatherND(stack,
/// Unsqueeze(ids, -1))` or `Gather(stack, ids, axis = 0)`, the ids a view of the chosen
/// experts (ExpertChoice.h). The stack and the node that chose, or nothing.
std::optional<std::pair<Value, onnx::NodeOp>> matchRowsOfStack(Value value, int64_t rank) {
  std::optional<RowGather> rows = matchRowGather(value);
  if (!rows)
    return std::nullopt;
  onnx::NodeOp choice = getExpertChoice(skipReshapes(rows->indices));
  if (!choice || !isStaticFloatConstant(rows->data, rank))
    return std::nullopt;
  return std::make_pair(rows->data, choice);
}

/// Matches projections over per-row gathered weights, all by one expert choice.
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
        return rows && succeeded(checkChoice(rows->second, reason)) &&
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
      if (failed(checkChoice(rows->second, reason)))
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

  onnx::NodeOp getChoice() const { return choice; }

private:
  static std::string describeValue(Value value) {
    Operation *op = value.getDefiningOp();
    return op ? describe(op) : std::string("a block argument");
  }

  /// Every projection gathers by the one expert choice.
  LogicalResult checkChoice(onnx::NodeOp candidate, Reason &reason) {
    if (!choice)
      choice = candidate;
    if (choice != candidate)
      return reason = "the projections gather by different expert choices", failure();
    return success();
  }

  onnx::NodeOp choice;
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

/// The layer of gathered experts whose sum over the slots is `node`.
FailureOr<StackedLayer> matchGatheredLayer(onnx::NodeOp node, Reason &reason) {
  std::optional<WeightedSlotSum> sum = matchWeightedSlotSum(node);
  if (!sum)
    return failure();
  GatheredProjections projections;
  FailureOr<ExpertBody> body = matchExpertBody(
      /*input=*/Value(), sum->rows, reason,
      [&](Value output, Reason &why) { return projections.match(output, why); });
  if (failed(body))
    return failure();
  FailureOr<Routing> routing = matchRoutingOfChoice(projections.getChoice(), reason);
  if (failed(routing))
    return failure();
  if (routing->k != sum->k)
    return reason = "the slots summed are not the router's k", failure();
  if (skipFloatCasts(routing->weights) != sum->weights)
    return reason = "the expert rows are not weighted by the router's weights", failure();
  Value tokens = routing->router.input;
  if (!isRepeatedTokens(body->up.input, tokens, sum->k))
    return reason = "the experts do not read the router's tokens repeated for each slot",
           failure();
  return makeStackedLayer(node->getResult(0), std::move(*routing), std::move(*body), reason);
}

struct RaiseGatheredMoEPass : moec::impl::RaiseGatheredMoEBase<RaiseGatheredMoEPass> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseStackedLayer<matchGatheredLayer>>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
