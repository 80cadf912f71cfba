//===- RaiseSplitMoE.cpp - Experts on the parts of a Split to moe.layer ---===//
//
// JetMoE's experts (transformers 5's JetMoeParallelExperts), as torch.export and
// transformers' exporter write them: the (token, slot) pairs sorted by expert, the tokens
// gathered in that order, Split into one part per expert by how many pairs chose each
// expert, one Linear per expert on its part, the parts concatenated again (the activation
// runs on the concatenation), the rows weighted and added back at their tokens by a
// ScatterND with reduction add. That is moe.layer's result.
//
// The pattern anchors on the ScatterND and walks back: its indices to the sort of the
// chosen experts (SortedPairs.h), the weighting to the router (RouterMatcher.h), the rows
// through the expert body (ExpertMatcher.h) whose projections are per-expert Linears over the
// parts of a Split, the Split's sizes to the histogram of the router's choices.
//
//===----------------------------------------------------------------------===//

#include "ExpertMatcher.h"
#include "LayerOperands.h"
#include "ONNXMatch.h"
#include "RaiseDriver.h"
#include "RouterMatcher.h"
#include "SortedPairs.h"
#include "WeightStack.h"

#include "moec/Passes/Raise/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <cstring>
#include <limits>

namespace moec {
#define GEN_PASS_DEF_RAISESPLITMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;

namespace {

/// Whether `value` holds `fill` (0 or 1) everywhere: `Expand(fill, shape)` or a
/// `ConstantOfShape` filled with it (a 0 of any type; an f32 or i64 1).
bool isFilledWith(Value value, int64_t fill) {
  if (onnx::NodeOp expand = getDefiningNode(value, "Expand"))
    return isScalarConstant(expand.getInputs()[0], double(fill));
  onnx::NodeOp constantOfShape = getDefiningNode(value, "ConstantOfShape");
  std::optional<ConstantData> data = constantOfShape ? getFillData(constantOfShape) : std::nullopt;
  if (!data || data->type.getNumElements() != 1)
    return false;
  if (fill == 0)
    return llvm::all_of(data->bytes, [](char byte) { return byte == 0; });
  auto holds = [&](auto expected) {
    return data->bytes.size() == sizeof expected &&
           std::memcmp(data->bytes.data(), &expected, sizeof expected) == 0;
  };
  Type element = data->type.getElementType();
  return (element.isF32() && holds(float(fill))) || (element.isInteger(64) && holds(fill));
}

//===----------------------------------------------------------------------===//
// How many rows each expert has
//===----------------------------------------------------------------------===//

/// Checks that a Split's sizes are how many sorted rows each expert has.
class ExpertCounts {
public:
  explicit ExpertCounts(const SortedPairs &pairs) : pairs(pairs) {}

  /// Whether `sizes` `[E]` is `Concat(count(0), ..., count(E - 1))`, count(e) expert e's
  /// element of the histogram of the router's choices, `Slice(histogram, [e], [e + 1])`
  /// (maybe `Gather(., 0)` and reshaped back to `[1]`).
  bool isCounts(Value sizes, int64_t experts) {
    if (sizes == checkedSizes)
      return true;
    onnx::NodeOp concat = getDefiningNode(sizes, "Concat");
    if (!concat || concat.getIntAttr("axis", 0) != 0 ||
        int64_t(concat.getInputs().size()) != experts)
      return false;
    for (auto [expert, part] : llvm::enumerate(concat.getInputs())) {
      Value element = skipReshapes(part);
      if (onnx::NodeOp gather = getDefiningNode(element, "Gather"))
        if (gather.getIntAttr("axis", 0) == 0 && isScalarConstant(gather.getInputs()[1], 0.0))
          element = gather.getInputs()[0];
      onnx::NodeOp slice = getDefiningNode(element, "Slice");
      if (!slice || !hasIntsInput(slice, 1, {int64_t(expert)}) ||
          !hasIntsInput(slice, 2, {int64_t(expert) + 1}) ||
          (slice.hasInput(3) && !hasIntsInput(slice, 3, {0})) ||
          (slice.hasInput(4) && !hasIntsInput(slice, 4, {1})) ||
          !isHistogram(slice.getInputs()[0], experts))
        return false;
    }
    checkedSizes = sizes;
    return true;
  }

private:
  /// Whether `value` `[E]` counts the pairs that chose each expert:
  /// `ReduceSum(Cast(ScatterElements(zeros [_, E], ids, ones, axis = 1)), axes = [0],
  /// keepdims = 0)`, `ids` the router's chosen experts. A token's chosen experts are
  /// distinct, so each row of the scatter holds a one at each of its token's k experts.
  bool isHistogram(Value value, int64_t experts) {
    if (value == checkedHistogram)
      return true;
    onnx::NodeOp sum = getDefiningNode(value, "ReduceSum");
    RankedTensorType type = getRanked(value);
    if (!sum || sum.getIntAttr("keepdims", 1) != 0 || !sum.hasInput(1) ||
        !hasIntsInput(sum, 1, {0}) || !type || type.getRank() != 1 ||
        type.getDimSize(0) != experts || !type.getElementType().isInteger())
      return false;
    Value chosen = sum.getInputs()[0];
    if (onnx::NodeOp cast = getDefiningNode(chosen, "Cast"))
      chosen = cast.getInputs()[0];
    onnx::NodeOp scatter = getDefiningNode(chosen, "ScatterElements");
    RankedTensorType chosenType = getRanked(chosen);
    if (!scatter || scatter.getIntAttr("axis", 0) != 1 ||
        scatter.getStringAttr("reduction", "none") != "none" || !chosenType ||
        chosenType.getRank() != 2 || chosenType.getDimSize(1) != experts ||
        !isFilledWith(scatter.getInputs()[0], 0) ||
        scatter.getInputs()[1] != pairs.ids ||
        !isFilledWith(scatter.getInputs()[2], 1))
      return false;
    checkedHistogram = value;
    return true;
  }

  const SortedPairs &pairs;
  Value checkedSizes, checkedHistogram;
};

//===----------------------------------------------------------------------===//
// Projections over the parts of a Split
//===----------------------------------------------------------------------===//

/// Matches the projections `Concat(Linear_e(Split(x, counts)#e) for every expert e, axis =
/// 0)`: expert e's Linear on its part of the sorted rows. The body matcher sees expert 0's
/// Linear with `x` as its input; every expert's is kept for building the stacks.
class SplitProjections {
public:
  explicit SplitProjections(const SortedPairs &pairs) : counts(pairs) {}

  FailureOr<Linear> match(Value output, Reason &reason) {
    onnx::NodeOp concat = getDefiningNode(output, "Concat");
    if (!concat || concat.getIntAttr("axis", 0) != 0) {
      Operation *op = output.getDefiningOp();
      return reason = (op ? describe(op) : std::string("a block argument")) +
                      " is not a projection over the parts of a Split (a Concat of the "
                      "experts' rows)",
             failure();
    }
    int64_t experts = concat.getInputs().size();
    onnx::NodeOp split;
    SmallVector<Linear> linears;
    for (auto [expert, part] : llvm::enumerate(concat.getInputs())) {
      Reason ignored;
      FailureOr<Linear> linear = matchLinear(part, ignored);
      if (succeeded(linear) && !split)
        split = getDefiningNode(linear->input, "Split");
      if (failed(linear) || !split || linear->input != split->getResult(expert) ||
          !getConstantBytes(linear->weight))
        return reason = describe(concat) + " part " + std::to_string(expert) +
                        " is not a Linear of part " + std::to_string(expert) + " of a Split",
               failure();
      if (linear->bias)
        return reason = describe(concat) + " part " + std::to_string(expert) +
                        " has a bias: per-expert biases of this form are not recognized",
               failure();
      if (!linears.empty() && (linear->getInSize() != linears.front().getInSize() ||
                               linear->getOutSize() != linears.front().getOutSize()))
        return reason = describe(concat) + " holds experts of different sizes", failure();
      linears.push_back(*linear);
    }
    if (split.getIntAttr("axis", 0) != 0 || int64_t(split->getNumResults()) != experts ||
        split.getInputs().size() != 2 || !counts.isCounts(split.getInputs()[1], experts))
      return reason =
                 describe(split) + " does not split the rows by how many pairs chose each expert",
             failure();
    Value rows = split.getInputs()[0];
    for (auto &[key, found] : byProjection)
      if (key == output)
        return found.front();
    // The body matcher sees the projection as expert 0's Linear of all the rows.
    linears.front().input = rows;
    byProjection.emplace_back(output, linears);
    return linears.front();
  }

  /// Every expert's Linear of the projection whose expert 0 matched as `first`.
  ArrayRef<Linear> getExperts(const Linear &first) const {
    for (const auto &[key, found] : byProjection)
      if (found.front().weight == first.weight && found.front().input == first.input)
        return found;
    return {};
  }

private:
  ExpertCounts counts;
  SmallVector<std::pair<Value, SmallVector<Linear>>> byProjection;
};

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

/// A layer of experts on the parts of a Split: the routing, the body (expert 0's), every
/// expert's up and down Linears, and the zeros the rows are added to.
struct SplitLayer {
  Routing routing;
  ExpertBody body;
  SmallVector<Linear> ups, downs;
  Value zeros;
};

/// Whether `value` is a Concat of Linears of the parts of a Split: the rows of experts run on
/// the parts of a Split, what makes a ScatterND a candidate.
bool isSplitExpertRows(Value value) {
  onnx::NodeOp concat = getDefiningNode(value, "Concat");
  if (!concat || concat.getInputs().size() < 2)
    return false;
  return llvm::all_of(concat.getInputs(), [](Value part) {
    onnx::NodeOp projection = getDefiningNode(part, "Gemm");
    if (!projection)
      projection = getDefiningNode(part, "MatMul");
    return projection && getDefiningNode(projection.getInputs()[0], "Split");
  });
}

/// `value` with an Expand to its own shape looked through: ScatterND's updates must be
/// `[N, H]` as its indices and data say, and an Expand of `[N, H]` rows to `[N, H]` is
/// those rows.
Value skipSameShapeExpand(Value value) {
  onnx::NodeOp expand = getDefiningNode(value, "Expand");
  RankedTensorType type = getRanked(value);
  RankedTensorType inputType = expand ? getRanked(expand.getInputs()[0]) : RankedTensorType();
  if (!inputType || !type || inputType.getRank() != 2 || type.getRank() != 2)
    return value;
  onnx::NodeOp scatter = getSingleUser(value, "ScatterND");
  return scatter && scatter.getInputs()[2] == value ? expand.getInputs()[0] : value;
}

FailureOr<SplitLayer> matchSplitLayer(onnx::NodeOp scatter, Reason &reason) {
  if (!scatter.getDomain().empty() || scatter.getOpType() != "ScatterND" ||
      scatter.getInputs().size() != 3 || scatter.getStringAttr("reduction", "none") != "add")
    return failure();
  Value updates = skipSameShapeExpand(scatter.getInputs()[2]);
  onnx::NodeOp mul = getDefiningNode(updates, "Mul");
  std::optional<unsigned> rowsIndex;
  if (mul)
    rowsIndex = matchEitherInput(mul, isSplitExpertRows);
  if (!rowsIndex) {
    if (isSplitExpertRows(updates))
      reason = "the rows added, of experts on the parts of a Split, are not weighted (JetMoE's "
               "mixture of attention heads puts its experts' rows back in pair order so)";
    return failure();
  }
  Value expertRows = mul.getInputs()[*rowsIndex];

  // The rows times each sorted row's routing weight: `Unsqueeze(w[pairOfRow], -1)`.
  Value weightColumn = mul.getInputs()[1 - *rowsIndex];
  RankedTensorType weightType = getRanked(weightColumn);
  Value pickedWeights = skipReshapesToRank(weightColumn, 1);
  std::optional<RowGather> picked = pickedWeights ? matchRowGather(pickedWeights) : std::nullopt;
  Value pairOfRow = picked ? skipReshapesToRank(picked->indices, 1) : Value();
  // The rows are Split by the experts' counts, which add up to T * k (ExpertCounts): the
  // graph runs only if the sort keeps all T * k pairs, whatever K it is given.
  std::optional<SortedPairs> pairs =
      pairOfRow ? matchSortedPairs(pairOfRow, /*anyK=*/true) : std::nullopt;
  if (!weightType || weightType.getRank() != 2 || weightType.getDimSize(1) != 1 || !pairs)
    return reason = "the experts' rows are not multiplied by the weights of their pairs sorted "
                    "by expert",
           failure();
  Value tokenOfRow = skipReshapesToRank(scatter.getInputs()[1], 1);
  if (!tokenOfRow || !isTokenOfRow(tokenOfRow, *pairs))
    return reason = "the rows are not added at their tokens (each sorted pair // k)", failure();
  Value zeros = scatter.getInputs()[0];
  if (!isFilledWith(zeros, 0))
    return reason = "the rows are not added to zeros", failure();

  SplitProjections projections(*pairs);
  FailureOr<ExpertBody> body = matchExpertBody(
      /*input=*/Value(), expertRows, reason,
      [&](Value output, Reason &why) { return projections.match(output, why); });
  if (failed(body)) {
    // Experts whose one projection reads gathered rows have no activation at all.
    Reason ignored;
    FailureOr<Linear> single = projections.match(expertRows, ignored);
    if (succeeded(single) && matchRowGather(single->input))
      reason = "the experts are single Linears with no activation (JetMoE's mixture of "
               "attention heads' output experts), which moe.layer does not express";
    return failure();
  }
  if (body->gate || body->interleaved)
    return reason = "the gate and up are not the halves of one projection per expert", failure();
  FailureOr<Routing> routing = matchRoutingOfChoice(pairs->routerChoice, reason);
  if (failed(routing))
    return failure();
  if (skipFloatCasts(skipReshapes(picked->data)) != skipFloatCasts(routing->weights))
    return reason = "the expert rows are not weighted by the router's weights", failure();
  std::optional<RowGather> tokens = matchRowGather(body->up.input);
  Value tokensAt = tokens ? skipReshapesToRank(tokens->indices, 1) : Value();
  if (!tokens || tokens->data != routing->router.input || !tokensAt ||
      !isTokenOfRow(tokensAt, *pairs))
    return reason = "the experts do not read the router's tokens in sorted order", failure();

  SplitLayer layer{*routing, *body, {}, {}, zeros};
  layer.ups.assign(projections.getExperts(body->up).begin(),
                   projections.getExperts(body->up).end());
  layer.downs.assign(projections.getExperts(body->down).begin(),
                     projections.getExperts(body->down).end());
  int64_t experts = routing->getNumExperts();
  if (int64_t(layer.ups.size()) != experts || int64_t(layer.downs.size()) != experts)
    return reason = "the router chooses among " + std::to_string(experts) +
                    " experts but the Split has another number of parts",
           failure();
  RankedTensorType tokensType = getRanked(routing->router.input);
  RankedTensorType zerosType = getRanked(zeros);
  Type element = tokensType ? tokensType.getElementType() : Type();
  auto sameElement = [&](const Linear &linear) {
    return getElementTypeOrSelf(linear.weight.getType()) == element;
  };
  if (!tokensType || tokensType.getRank() != 2 || tokensType.isDynamicDim(1) || !zerosType ||
      zerosType.getRank() != 2 || zerosType.getElementType() != element ||
      !tensor::CastOp::areCastCompatible(zerosType, scatter->getResult(0).getType()) ||
      zerosType.getDimSize(1) != tokensType.getDimSize(1) ||
      !llvm::all_of(layer.ups, sameElement) || !llvm::all_of(layer.downs, sameElement) ||
      !sameElement(routing->router))
    return reason = "weights, tokens, the zeros the rows are added to and the result differ "
                    "in element type or hidden size",
           failure();
  return layer;
}

/// Expert `expert`'s matrix of `linears` as moe.layer takes it, `[in, out]`.
ExpertColumns columnsOf(ArrayRef<Linear> linears, int64_t expert) {
  const Linear &linear = linears[expert];
  return {SourceColumns::ofMatrix(*getConstantBytes(linear.weight), 0, linear.getInSize(),
                                  linear.getOutSize(), linear.weightIsOutIn)};
}

/// The `[E, in, out]` stack of `linears`, named after `scatter`.
FailureOr<Value> buildStack(PatternRewriter &rewriter, onnx::NodeOp scatter, StringRef name,
                            ArrayRef<Linear> linears, Type element) {
  int64_t in = linears.front().getInSize(), out = linears.front().getOutSize();
  return createWeightStack(rewriter, scatter.getLoc(),
                           RankedTensorType::get({int64_t(linears.size()), in, out}, element),
                           (scatter.getName() + "/moe." + name).str(), linears.size(), in,
                           [&](int64_t expert) { return columnsOf(linears, expert); });
}

/// Raises one layer of experts on the parts of a Split, anchored on its ScatterND. The
/// ScatterND adds each token's rows at row t of the zeros, which may have more rows than
/// there are tokens (their count is not known at compile time): the result is the zeros with
/// the layer's `[T, H]` in their first T rows.
struct RaiseSplitLayer : RaisePattern {
  using RaisePattern::RaisePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp scatter, PatternRewriter &rewriter) const override {
    Reason reason;
    FailureOr<SplitLayer> layer = matchSplitLayer(scatter, reason);
    if (failed(layer)) {
      if (!reason.empty())
        remarks.notRaised(scatter, describe(scatter) + " not raised to moe.layer: " + reason);
      return failure();
    }
    const Routing &routing = layer->routing;
    Value tokens = routing.router.input;
    auto tokensType = llvm::cast<RankedTensorType>(tokens.getType());
    Type element = tokensType.getElementType();
    FailureOr<Value> upWeight = buildStack(rewriter, scatter, "up_weight", layer->ups, element);
    FailureOr<Value> downWeight =
        buildStack(rewriter, scatter, "down_weight", layer->downs, element);
    FailureOr<Value> routerWeight = buildRouterWeight(rewriter, routing.router);
    if (failed(upWeight) || failed(downWeight) || failed(routerWeight)) {
      // The error is reported; the pass fails.
      sawError = true;
      return failure();
    }
    Location loc = scatter.getLoc();
    Value result = moe::LayerOp::create(
        rewriter, loc, tokensType, tokens, *upWeight, *downWeight, *routerWeight,
        /*router_logits=*/Value(), asExpertVector(rewriter, routing.router.bias),
        asExpertVector(rewriter, routing.scoreBias), /*up_bias=*/Value(),
        /*down_bias=*/Value(), /*shared_up=*/Value(), /*shared_down=*/Value(),
        /*shared_gate=*/Value(), routing.getAttr(rewriter.getContext()),
        layer->body.getAttr(rewriter.getContext()));
    rewriter.replaceOp(scatter, padWithZeroRows(rewriter, scatter, result, layer->zeros));
    return success();
  }

private:
  /// `Concat(layer, zeros[T:])`: the zeros with the layer's `[T, H]` in their first T rows,
  /// as nodes of the types they are known to have (T is `Gather(Shape(layer), [0])`).
  static Value padWithZeroRows(PatternRewriter &rewriter, onnx::NodeOp scatter, Value layer,
                               Value zeros) {
    GlueBuilder glue(rewriter, scatter);
    auto zerosType = llvm::cast<RankedTensorType>(zeros.getType());
    auto shapeType = RankedTensorType::get({2}, rewriter.getI64Type());
    auto dimType = RankedTensorType::get({1}, rewriter.getI64Type());
    Value shape = glue.node("Shape", "Shape", shapeType, layer);
    Value tokens = glue.node("Gather", "Gather", dimType, {shape, glue.i64s("first_axis", 0)},
                             glue.axis(0));
    Value rest = glue.node(
        "Slice", "Slice",
        RankedTensorType::get({ShapedType::kDynamic, zerosType.getDimSize(1)},
                              zerosType.getElementType()),
        {zeros, tokens, glue.i64s("end", std::numeric_limits<int64_t>::max()),
         glue.i64s("rows_axis", 0)});
    Value result =
        glue.node("Concat", "Concat", zerosType, {layer, rest}, glue.axis(0));
    return castLayerResult(rewriter, result, scatter->getResult(0).getType());
  }
};

struct RaiseSplitMoEPass : moec::impl::RaiseSplitMoEBase<RaiseSplitMoEPass> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseSplitLayer>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
