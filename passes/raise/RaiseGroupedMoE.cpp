//===- RaiseGroupedMoE.cpp - Experts over rows grouped by expert to moe.layer -===//
//
// transformers 5's `grouped_mm` experts, as transformers' own exporter writes them (one
// MatMul per expert where torch's grouped matmul falls back): the (token, slot) pairs
// sorted by their expert, each expert's segment of the sorted rows multiplied by that
// expert's weights, the rows weighted, put back in pair order and summed over each token's
// slots. That is moe.layer's result; raising keeps it sparse in moe's own kernels.
//
// The pattern anchors on the sum over the slots (SlotSum.h) and walks back: the rows put
// back in pair order to the sort of the chosen experts, the weighting to the router
// (RouterMatcher.h), the rows through the expert body (ExpertMatcher.h) whose projections
// are grouped MatMuls, to the router's tokens in sorted order.
//
//===----------------------------------------------------------------------===//

#include "ExpertChoice.h"
#include "ExpertMatcher.h"
#include "LayerOperands.h"
#include "ONNXMatch.h"
#include "RaiseDriver.h"
#include "RouterMatcher.h"
#include "SlotSum.h"
#include "SortedPairs.h"

#include "moec/Passes/Raise/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>

namespace moec {
#define GEN_PASS_DEF_RAISEGROUPEDMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;

namespace {

/// `value` with every Cast looked through: the counts and offsets of rows per expert are
/// small integers, exact in every numeric type.
Value skipCasts(Value value) {
  while (onnx::NodeOp cast = getDefiningNode(value, "Cast"))
    value = cast.getInputs()[0];
  return value;
}

/// A row gather (ONNXMatch.h) with its indices viewed as `[N]`.
std::optional<RowGather> matchRowsAt(Value value) {
  std::optional<RowGather> rows = matchRowGather(value);
  if (!rows || !(rows->indices = skipReshapesToRank(rows->indices, 1)))
    return std::nullopt;
  return rows;
}

//===----------------------------------------------------------------------===//
// The pairs sorted by expert
//===----------------------------------------------------------------------===//

/// The sort's inverse permutation, `ScatterND(any [N], Unsqueeze(pairOfRow, -1), Range(0, N,
/// 1))` without reduction (`inverse[pairOfRow[r]] = r` for every r): the sorted pairs.
std::optional<SortedPairs> matchUnsorting(Value inverse) {
  onnx::NodeOp scatter = getDefiningNode(inverse, "ScatterND");
  if (!scatter || scatter.getStringAttr("reduction", "none") != "none")
    return std::nullopt;
  onnx::NodeOp range = getDefiningNode(scatter.getInputs()[2], "Range");
  Value pairOfRow = skipReshapesToRank(scatter.getInputs()[1], 1);
  if (!range || !isScalarConstant(range.getInputs()[0], 0.0) ||
      !isScalarConstant(range.getInputs()[2], 1.0) || !pairOfRow)
    return std::nullopt;
  return matchSortedPairs(pairOfRow);
}

//===----------------------------------------------------------------------===//
// The experts' segments of the sorted rows
//===----------------------------------------------------------------------===//

/// The sorted rows of each expert: expert e's are `Range(end(e - 1), end(e), 1)`
/// (`end(-1)` = 0), `end` the inclusive prefix sums (`CumSum`) of how many rows each expert
/// has: `ScatterElements(zeros [E], bin, ones, reduction = add)`, the bin of a row its
/// expert (torch's `histc(expertOfRow, bins = E, min = 0, max = E - 1)` computes it as
/// `Clip(Cast(Cast(id) / c), 0, E - 1)`).
class ExpertSegments {
public:
  explicit ExpertSegments(const SortedPairs &pairs) : pairs(pairs) {}

  /// Whether `range` is expert `expert`'s segment, of `experts`.
  bool isSegment(Value range, int64_t expert, int64_t experts) {
    onnx::NodeOp node = getDefiningNode(range, "Range");
    if (!node || !isScalarConstant(node.getInputs()[2], 1.0))
      return false;
    bool startsRight = expert == 0 ? isScalarConstant(node.getInputs()[0], 0.0)
                                   : isEnd(node.getInputs()[0], expert - 1, experts);
    return startsRight && isEnd(node.getInputs()[1], expert, experts);
  }

private:
  /// Whether `value` is `end(expert)`: `Squeeze(Split(end, axis 0)#expert)` or
  /// `Gather(end, expert)`.
  bool isEnd(Value value, int64_t expert, int64_t experts) {
    RankedTensorType type = getRanked(value);
    if (!type || type.getRank() != 0)
      return false;
    Value ends;
    if (onnx::NodeOp squeeze = getDefiningNode(value, "Squeeze")) {
      Value part = squeeze.getInputs()[0];
      onnx::NodeOp split = getDefiningNode(part, "Split");
      if (!split || split.getIntAttr("axis", 0) != 0 || split->getNumResults() != experts ||
          split->getResult(expert) != part)
        return false;
      ends = split.getInputs()[0];
    } else if (onnx::NodeOp gather = getDefiningNode(value, "Gather")) {
      if (gather.getIntAttr("axis", 0) != 0 || !isScalarConstant(gather.getInputs()[1], expert))
        return false;
      ends = gather.getInputs()[0];
    } else {
      return false;
    }
    RankedTensorType endsType = getRanked(ends);
    return endsType && endsType.getRank() == 1 && endsType.getDimSize(0) == experts &&
           (ends == checkedEnds || isEnds(ends, experts));
  }

  bool isEnds(Value ends, int64_t experts) {
    onnx::NodeOp cumsum = getDefiningNode(skipCasts(ends), "CumSum");
    if (!cumsum || cumsum.getIntAttr("exclusive", 0) != 0 ||
        cumsum.getIntAttr("reverse", 0) != 0 || !isScalarConstant(cumsum.getInputs()[1], 0.0))
      return false;
    onnx::NodeOp counts = getDefiningNode(skipCasts(cumsum.getInputs()[0]), "ScatterElements");
    if (!counts || counts.getIntAttr("axis", 0) != 0 ||
        counts.getStringAttr("reduction", "none") != "add")
      return false;
    std::optional<ConstantData> zeros = getConstantData(counts.getInputs()[0]);
    Value ones = counts.getInputs()[2];
    if (onnx::NodeOp expand = getDefiningNode(ones, "Expand"))
      ones = expand.getInputs()[0];
    if (!zeros || zeros->type.getRank() != 1 || zeros->type.getDimSize(0) != experts ||
        !llvm::all_of(zeros->bytes, [](char byte) { return byte == 0; }) ||
        !isScalarConstant(ones, 1.0) || !isBinOfRow(counts.getInputs()[1], experts))
      return false;
    checkedEnds = ends;
    return true;
  }

  /// Whether `bins` holds each sorted row's expert.
  bool isBinOfRow(Value bins, int64_t experts) {
    if (bins == pairs.expertOfRow)
      return true;
    onnx::NodeOp clip = getDefiningNode(bins, "Clip");
    if (!clip || !clip.hasInput(1) || !clip.hasInput(2))
      return false;
    std::optional<double> low = getScalarConstant(clip.getInputs()[1]);
    std::optional<double> high = getScalarConstant(clip.getInputs()[2]);
    onnx::NodeOp truncate = getDefiningNode(clip.getInputs()[0], "Cast");
    onnx::NodeOp div = truncate ? getDefiningNode(truncate.getInputs()[0], "Div") : nullptr;
    onnx::NodeOp toFloat = div ? getDefiningNode(div.getInputs()[0], "Cast") : nullptr;
    std::optional<double> width = div ? getScalarConstant(div.getInputs()[1]) : std::nullopt;
    if (!low || !high || !toFloat || toFloat.getInputs()[0] != pairs.expertOfRow || !width ||
        *width <= 0.0 || !getElementTypeOrSelf(truncate->getResult(0).getType()).isInteger() ||
        !getElementTypeOrSelf(div->getResult(0).getType()).isF32())
      return false;
    // The bin of every expert id, in the f32 arithmetic of the graph, must be the id.
    for (int64_t expert = 0; expert < experts; ++expert) {
      float scaled = float(expert) / float(*width);
      double bin = std::clamp(double(int64_t(scaled)), *low, *high);
      if (bin != double(expert))
        return false;
    }
    return true;
  }

  const SortedPairs &pairs;
  Value checkedEnds;
};

//===----------------------------------------------------------------------===//
// Grouped projections
//===----------------------------------------------------------------------===//

/// Matches projections over rows grouped by expert, all of one sort of the pairs.
class GroupedProjections {
public:
  explicit GroupedProjections(const SortedPairs &pairs) : pairs(pairs), segments(pairs) {}

  /// `Concat(MatMul(Gather(x, segment(e)), W[e]) for every expert e, axis = 0)`, optionally
  /// plus `B[expertOfRow]` for a bias stack B `[E, out]`.
  FailureOr<Linear> match(Value output, Reason &reason) {
    Linear linear;
    linear.stacked = true;
    Value grouped = output;
    if (onnx::NodeOp add = getDefiningNode(output, "Add")) {
      std::optional<unsigned> biasIndex = matchEitherInput(add, [&](Value value) {
        std::optional<RowGather> rows = matchRowsAt(value);
        return rows && rows->indices == pairs.expertOfRow &&
               isStaticFloatConstant(rows->data, 2) && (linear.bias = rows->data, true);
      });
      if (!biasIndex)
        return reason = describe(add) + " adds no expert bias picked by each row's expert",
               failure();
      grouped = add.getInputs()[1 - *biasIndex];
    }
    onnx::NodeOp concat = getDefiningNode(grouped, "Concat");
    RankedTensorType outputType = getRanked(output);
    if (!concat || !outputType || outputType.getRank() != 2 ||
        (concat.getIntAttr("axis", 0) != 0 && concat.getIntAttr("axis", 0) != -2)) {
      Operation *op = grouped.getDefiningOp();
      return reason = (op ? describe(op) : std::string("a block argument")) +
                      " is not a projection grouped by expert (a Concat of the experts' "
                      "rows)",
             failure();
    }
    int64_t experts = concat.getInputs().size();
    for (auto [expert, part] : llvm::enumerate(concat.getInputs())) {
      onnx::NodeOp matmul = getDefiningNode(part, "MatMul");
      std::optional<RowGather> rows = matmul ? matchRowsAt(matmul.getInputs()[0]) : std::nullopt;
      std::optional<ExpertMatrix> matrix =
          matmul ? matchExpertMatrix(matmul.getInputs()[1]) : std::nullopt;
      if (!rows || !matrix || matrix->expert != int64_t(expert) ||
          !segments.isSegment(rows->indices, expert, experts))
        return reason = describe(concat) + " part " + std::to_string(expert) +
                        " is not expert " + std::to_string(expert) +
                        "'s rows times its matrix",
               failure();
      if (expert == 0) {
        linear.input = rows->data;
        linear.weight = matrix->stack;
        linear.weightIsOutIn = matrix->transposed;
      } else if (rows->data != linear.input || matrix->stack != linear.weight ||
                 matrix->transposed != linear.weightIsOutIn) {
        return reason = describe(concat) + " multiplies other rows or weights for expert " +
                        std::to_string(expert),
               failure();
      }
    }
    RankedTensorType inputType = getRanked(linear.input);
    if (linear.getNumExperts() != experts || !inputType || inputType.getRank() != 2 ||
        inputType.getDimSize(1) != linear.getInSize() ||
        outputType.getDimSize(1) != linear.getOutSize())
      return reason = describe(concat) + " does not hold one part per expert of its weights",
             failure();
    if (linear.bias && getRanked(linear.bias).getShape() !=
                           ArrayRef<int64_t>{experts, linear.getOutSize()})
      return reason = describe(concat) + "'s bias is not one row per expert", failure();
    return linear;
  }

private:
  const SortedPairs &pairs;
  ExpertSegments segments;
};

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

/// The layer of grouped experts whose sum over the slots is `node`: a candidate when the
/// rows summed are gathered (back into pair order).
FailureOr<StackedLayer> matchGroupedLayer(onnx::NodeOp node, Reason &reason) {
  std::optional<SlotSum> sum = matchSlotSum(node);
  Value pairRows = sum ? skipReshapesToRank(sum->summed, 2) : Value();
  std::optional<RowGather> unsorted = pairRows ? matchRowsAt(pairRows) : std::nullopt;
  if (!unsorted)
    return failure();
  std::optional<SortedPairs> pairs = matchUnsorting(unsorted->indices);
  if (!pairs)
    return reason = "the rows summed are not sorted rows put back in pair order", failure();
  if (pairs->k != sum->k)
    return reason = "the slots summed are not the router's k", failure();

  // The sorted rows times each row's routing weight: `rows * Unsqueeze(w[pairOfRow], -1)`.
  onnx::NodeOp mul = getDefiningNode(unsorted->data, "Mul");
  Value flatWeights;
  std::optional<unsigned> weightIndex = matchEitherInput(mul, [&](Value value) {
    RankedTensorType type = getRanked(value);
    Value weights = skipReshapesToRank(value, 1);
    std::optional<RowGather> picked = weights ? matchRowsAt(weights) : std::nullopt;
    return type && type.getRank() == 2 && type.getDimSize(1) == 1 && picked &&
           picked->indices == pairs->pairOfRow && (flatWeights = picked->data, true);
  });
  if (!weightIndex)
    return reason = "the sorted rows are not multiplied by their pairs' weights", failure();
  Value expertRows = mul.getInputs()[1 - *weightIndex];

  GroupedProjections projections(*pairs);
  FailureOr<ExpertBody> body = matchExpertBody(
      /*input=*/Value(), expertRows, reason,
      [&](Value output, Reason &why) { return projections.match(output, why); });
  if (failed(body))
    return failure();
  FailureOr<Routing> routing = matchRoutingOfChoice(pairs->routerChoice, reason);
  if (failed(routing))
    return failure();
  if (skipFloatCasts(skipReshapes(flatWeights)) != skipFloatCasts(routing->weights))
    return reason = "the expert rows are not weighted by the router's weights", failure();
  std::optional<RowGather> tokens = matchRowsAt(body->up.input);
  if (!tokens || tokens->data != routing->router.input ||
      !isTokenOfRow(tokens->indices, *pairs))
    return reason = "the experts do not read the router's tokens in sorted order", failure();
  return makeStackedLayer(node->getResult(0), std::move(*routing), std::move(*body), reason);
}

struct RaiseGroupedMoEPass : moec::impl::RaiseGroupedMoEBase<RaiseGroupedMoEPass> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseStackedLayer<matchGroupedLayer>>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
