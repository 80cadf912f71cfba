//===- RaiseProductKeyMoE.cpp - Product-key experts (Doge's CDMoE) to moe.layer ===//
//
// Doge's CDMoE chooses among E = n * n experts by product keys: the router's Linear gives
// 2n logits per token, viewed as two halves `[2, T, n]`; each half is sorted (a TopK of all
// n), every pair (a, b) of the two halves scores `half0[a] + half1[b]` and is expert
// `a * n + b`, and the k best pairs are the token's experts, weighed by the softmax of their
// scores. Each expert is one row of two embeddings: `act(x . down_embed[e]) * up_embed[e]`,
// an MLP of inner size 1.
//
// So the layer is moe.layer with router logits `[T, E]`, `logits[t, a * n + b] = half0[t, a]
// + half1[t, b]` (the same f32 sums the graph ranks, in expert order instead of sorted),
// top-k first with softmax scoring, and experts of inner size 1 whose up projection is
// `down_embed` and whose down projection is `up_embed`. The view `[2, T, n]` is taken of
// the logits of all tokens at once: for T > 1 a token's halves come from other tokens'
// logits (the model's own comment says so). The raised layer takes the logits from that
// same view, so it computes what the model does.
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

#include <limits>
#include <numeric>

namespace moec {
#define GEN_PASS_DEF_RAISEPRODUCTKEYMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;

namespace {

//===----------------------------------------------------------------------===//
// Views and halves
//===----------------------------------------------------------------------===//

/// An entry of a view's expected shape that is a row count.
constexpr int64_t kRows = std::numeric_limits<int64_t>::min();

/// Whether `view` is `Reshape(input, shape)` to `expected`, where `input` is known to have
/// as many elements as `expected` says: each entry of the shape (a constant, or a Concat of
/// one-element parts) is the expected one, or, for `kRows`, the product of the first
/// `rowDims` dims of `rowsOf`; at most one entry is -1, which then stands for the one
/// expected there.
bool isViewOf(Value view, Value input, ArrayRef<int64_t> expected, Value rowsOf, int64_t rowDims) {
  onnx::NodeOp reshape = getDefiningNode(view, "Reshape");
  if (!reshape || reshape.getInputs()[0] != input)
    return false;
  SmallVector<Value> parts;
  SmallVector<std::optional<int64_t>> constants;
  Value shape = reshape.getInputs()[1];
  if (std::optional<SmallVector<int64_t>> values = getIntConstant(shape)) {
    constants.append(values->begin(), values->end());
    parts.resize(values->size());
  } else if (onnx::NodeOp concat = getDefiningNode(shape, "Concat");
             concat && concat.getIntAttr("axis", 0) == 0) {
    for (Value part : concat.getInputs()) {
      std::optional<SmallVector<int64_t>> value = getIntConstant(part);
      if (value && value->size() != 1)
        return false;
      parts.push_back(part);
      constants.push_back(value ? std::optional<int64_t>((*value)[0]) : std::nullopt);
    }
  } else {
    return false;
  }
  if (parts.size() != expected.size() || llvm::count(constants, std::optional<int64_t>(-1)) > 1)
    return false;
  auto rows = getRanked(rowsOf);
  auto staticRows = [&]() -> std::optional<int64_t> {
    ArrayRef<int64_t> dims = rows ? rows.getShape().take_front(rowDims) : ArrayRef<int64_t>();
    if (!rows || llvm::any_of(dims, ShapedType::isDynamic))
      return std::nullopt;
    return std::accumulate(dims.begin(), dims.end(), int64_t(1), std::multiplies<int64_t>());
  };
  for (auto [part, constant, entry] : llvm::zip(parts, constants, expected)) {
    if (constant == -1)
      continue;
    if (entry != kRows) {
      if (constant != entry)
        return false;
    } else if (constant ? constant != staticRows() : !isLeadingDimsProduct(part, rowsOf, rowDims)) {
      return false;
    }
  }
  return true;
}

/// One of the two halves along axis 0 of a `[2, ...]` tensor.
struct Half {
  Value whole;
  int64_t part = 0;
};

/// `Squeeze(Split(whole, axis 0)#part, [0])` with parts of one, `Squeeze(Slice(whole, [part],
/// [part + 1], [0]), [0])` or `Gather(whole, part, axis 0)`, `whole` `[2, ...]`.
std::optional<Half> matchHalf(Value value) {
  if (onnx::NodeOp gather = getDefiningNode(value, "Gather")) {
    std::optional<SmallVector<int64_t>> index = getIntConstant(gather.getInputs()[1]);
    auto indexType = getRanked(gather.getInputs()[1]);
    auto wholeType = getRanked(gather.getInputs()[0]);
    if (gather.getIntAttr("axis", 0) != 0 || !index || !indexType || indexType.getRank() != 0 ||
        !wholeType || wholeType.getRank() < 1 || wholeType.getDimSize(0) != 2 ||
        ((*index)[0] != 0 && (*index)[0] != 1))
      return std::nullopt;
    return Half{gather.getInputs()[0], (*index)[0]};
  }
  onnx::NodeOp squeeze = getDefiningNode(value, "Squeeze");
  if (!squeeze || !hasIntsInput(squeeze, 1, {0}))
    return std::nullopt;
  // torch.export's unbind: `Slice(whole, [p], [p + 1], [0])`.
  if (onnx::NodeOp slice = getDefiningNode(squeeze.getInputs()[0], "Slice")) {
    auto wholeType = getRanked(slice.getInputs()[0]);
    for (int64_t part : {0, 1})
      if (wholeType && wholeType.getRank() >= 1 && wholeType.getDimSize(0) == 2 &&
          hasIntsInput(slice, 1, {part}) && hasIntsInput(slice, 2, {part + 1}) &&
          hasIntsInput(slice, 3, {0}) && (!slice.hasInput(4) || hasIntsInput(slice, 4, {1})))
        return Half{slice.getInputs()[0], part};
    return std::nullopt;
  }
  auto split = squeeze.getInputs()[0].getDefiningOp<onnx::NodeOp>();
  if (!split || split.getOpType() != "Split" || !split.getDomain().empty() ||
      split->getNumResults() != 2 || split.getIntAttr("axis", 0) != 0)
    return std::nullopt;
  auto wholeType = getRanked(split.getInputs()[0]);
  if (!wholeType || wholeType.getRank() < 1 || wholeType.getDimSize(0) != 2 ||
      llvm::any_of(split->getResults(), [](Value part) {
        auto type = getRanked(part);
        return !type || type.getRank() < 1 || type.getDimSize(0) != 1;
      }))
    return std::nullopt;
  return Half{split.getInputs()[0], llvm::cast<OpResult>(squeeze.getInputs()[0]).getResultNumber()};
}

/// `Unsqueeze(value, axis)` of a rank-2 value with `axis` one of `axes` (its two spellings):
/// the half it unsqueezes.
std::optional<Half> matchUnsqueezedHalf(Value value, ArrayRef<int64_t> axes) {
  onnx::NodeOp unsqueeze = getDefiningNode(value, "Unsqueeze");
  if (!unsqueeze ||
      !llvm::any_of(axes, [&](int64_t axis) { return hasIntsInput(unsqueeze, 1, {axis}); }))
    return std::nullopt;
  auto type = getRanked(unsqueeze.getInputs()[0]);
  if (!type || type.getRank() != 2)
    return std::nullopt;
  return matchHalf(unsqueeze.getInputs()[0]);
}

/// The row digit of a pair `[T, n, 1]` and the column digit `[T, 1, n]`.
const int64_t kRowAxes[] = {-1, 2};
const int64_t kColumnAxes[] = {-2, 1};

/// The two halves an outer sum `Add(Unsqueeze(row, -1), Unsqueeze(column, -2))` (either
/// order) combines, the row's first. With `rowScale`, the row is multiplied by that integer
/// constant after its Unsqueeze, as both torch exporters write the experts' ids
/// `row * n + column`.
std::optional<std::pair<Half, Half>> matchOuterSum(Value sum,
                                                   std::optional<int64_t> rowScale = {}) {
  onnx::NodeOp add = getDefiningNode(sum, "Add");
  if (!add || add.getInputs().size() != 2)
    return std::nullopt;
  auto matchRow = [&](Value value) -> std::optional<Half> {
    if (!rowScale)
      return matchUnsqueezedHalf(value, kRowAxes);
    onnx::NodeOp mul = getDefiningNode(value, "Mul");
    std::optional<unsigned> scale =
        mul ? matchEitherInput(mul,
                               [&](Value factor) {
                                 std::optional<SmallVector<int64_t>> values =
                                     getIntConstant(factor);
                                 return values && values->size() == 1 && (*values)[0] == *rowScale;
                               })
            : std::nullopt;
    Value unsqueezed = scale ? mul.getInputs()[1 - *scale] : Value();
    return unsqueezed ? matchUnsqueezedHalf(unsqueezed, kRowAxes) : std::nullopt;
  };
  for (unsigned rowIndex : {0u, 1u}) {
    std::optional<Half> row = matchRow(add.getInputs()[rowIndex]);
    std::optional<Half> column = matchUnsqueezedHalf(add.getInputs()[1 - rowIndex], kColumnAxes);
    if (row && column)
      return std::make_pair(*row, *column);
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// The layer
//===----------------------------------------------------------------------===//

/// A product-key layer as matched.
struct ProductKeyLayer {
  Routing routing;
  /// What the router and the experts read, `[T, H]` or `[B, S, H]`.
  Value tokens;
  /// The router's logits viewed as two halves, `[2, T, n]`, and n.
  Value keyLogits;
  int64_t numKeys = 0;
  /// The half whose key is the expert id's row digit (`id = row * n + column`).
  int64_t rowHalf = 0;
  moe::Activation activation = moe::Activation::silu;
  /// `[E, H]` constants: each expert's input row and output row.
  Value downEmbed, upEmbed;
  /// `MatMul(weighted [T, 1, k], up rows [T, k, H])`, the experts' weighted sum.
  onnx::NodeOp combine;
};

/// Whether `choice` is a candidate: a TopK over the sums of two TopKs' values whose indices
/// a GatherElements turns into experts.
bool isProductKeyChoice(onnx::NodeOp choice) {
  if (choice.getOpType() != "TopK" || !choice.getDomain().empty() || choice->getNumResults() != 2 ||
      getUsers(choice->getResult(1), "GatherElements").empty())
    return false;
  onnx::NodeOp sum = getDefiningNode(skipReshapes(choice.getInputs()[0]), "Add");
  return sum && llvm::all_of(sum.getInputs(), [](Value value) {
           value = skipReshapes(value);
           auto part = value.getDefiningOp<onnx::NodeOp>();
           if (part && llvm::is_contained({"Split", "Slice", "Gather"}, part.getOpType()))
             value = part.getInputs()[0];
           onnx::NodeOp topK = getDefiningNode(value, "TopK");
           return topK && topK->getResult(0) == value;
         });
}

/// The TopK that sorts all n keys of each half of `[2, T, n]` logits: `k = n` on the last
/// axis, largest first.
bool sortsAllKeys(onnx::NodeOp topK, int64_t numKeys) {
  std::optional<SmallVector<int64_t>> k = getIntConstant(topK.getInputs()[1]);
  auto type = getRanked(topK.getInputs()[0]);
  return k && ArrayRef<int64_t>(*k) == ArrayRef<int64_t>{numKeys} && type && type.getRank() == 3 &&
         type.getDimSize(0) == 2 &&
         (topK.getIntAttr("axis", -1) == -1 || topK.getIntAttr("axis", -1) == 2) &&
         topK.getIntAttr("largest", 1) == 1;
}

/// The expert rows of `ids`, `Gather(table [E, H], ids, axis 0)`, that `matmul` reads as its
/// input `operand`; null if there is not exactly one.
onnx::NodeOp findRowsMatMul(Value ids, unsigned operand, Value &table) {
  onnx::NodeOp found;
  for (onnx::NodeOp gather : getUsers(ids, "Gather")) {
    if (gather.getInputs()[1] != ids || gather.getIntAttr("axis", 0) != 0 ||
        !isStaticFloatConstant(gather.getInputs()[0], 2))
      continue;
    for (onnx::NodeOp matmul : getUsers(gather.getResult(0), "MatMul")) {
      if (matmul.getInputs()[operand] != gather.getResult(0))
        continue;
      if (found)
        return {};
      found = matmul;
      table = gather.getInputs()[0];
    }
  }
  return found;
}

/// Matches the product-key layer whose expert choice is `choice`; fails with an empty reason
/// when `choice` is no candidate.
FailureOr<ProductKeyLayer> matchProductKeyLayer(onnx::NodeOp choice, Reason &reason) {
  if (!isProductKeyChoice(choice))
    return failure();
  ProductKeyLayer layer;
  Value pairScores;
  FailureOr<Routing> routing = matchRoutingChoice(choice, pairScores, reason);
  if (failed(routing))
    return failure();
  if (!routing->topkFirst || routing->scoring != moe::Scoring::softmax || routing->scoreBias)
    return reason = "its weights are not the softmax of the chosen pairs' scores", failure();
  layer.routing = *routing;

  // The pairs' scores: the outer sum of the two halves of the sorted keys, viewed [T, n * n].
  Value sum = skipReshapes(pairScores);
  std::optional<std::pair<Half, Half>> halves = matchOuterSum(sum);
  if (!halves || halves->first.whole != halves->second.whole ||
      halves->first.part == halves->second.part)
    return reason = "the scores it chooses from are not the sums of every pair of keys of the "
                    "two halves of one TopK",
           failure();
  auto keyChoice = halves->first.whole.getDefiningOp<onnx::NodeOp>();
  if (!keyChoice || keyChoice.getOpType() != "TopK" ||
      keyChoice->getResult(0) != halves->first.whole)
    return reason = "the pairs' scores are not sums of a TopK's values", failure();
  layer.rowHalf = halves->first.part;

  // The keys: the router's `[T, 2n]` logits viewed as [2, T, n], all n of each half sorted.
  layer.keyLogits = keyChoice.getInputs()[0];
  onnx::NodeOp view = getDefiningNode(layer.keyLogits, "Reshape");
  FailureOr<Linear> router =
      view ? matchLinear(view.getInputs()[0], reason) : FailureOr<Linear>(failure());
  if (failed(router) || router->getOutSize() % 2 != 0)
    return reason = "the keys are not a view of the router's logits", failure();
  layer.tokens = router->input;
  auto tokensType = getRanked(layer.tokens);
  if (!tokensType || tokensType.getRank() < 2 || tokensType.getRank() > 3 ||
      ShapedType::isDynamic(tokensType.getShape().back()))
    return reason = "the router does not read [T, H] or [B, S, H] tokens", failure();
  int64_t rowDims = tokensType.getRank() - 1, hidden = tokensType.getShape().back();
  int64_t n = layer.numKeys = router->getOutSize() / 2;
  if (!isViewOf(layer.keyLogits, view.getInputs()[0], {2, kRows, n}, layer.tokens, rowDims))
    return reason = "the keys are not the router's " + std::to_string(2 * n) +
                    " logits per token viewed as [2, T, " + std::to_string(n) + "]",
           failure();
  if (!sortsAllKeys(keyChoice, n))
    return reason = describe(keyChoice) + " does not sort all " + std::to_string(n) +
                    " keys of each half, largest first",
           failure();
  if (!isViewOf(pairScores, sum, {kRows, n * n}, sum, 1))
    return reason = "the pairs' scores are not viewed as [T, " + std::to_string(n * n) + "]",
           failure();

  // The experts' ids: `row * n + column` of the same pair, picked by the choice.
  onnx::NodeOp pick = getUsers(choice->getResult(1), "GatherElements").front();
  Value pairIds = pick.getInputs()[0];
  Value idSum = skipReshapes(pairIds);
  std::optional<std::pair<Half, Half>> digits = matchOuterSum(idSum, layer.numKeys);
  if (pick.getInputs()[1] != choice->getResult(1) ||
      !(pick.getIntAttr("axis", 0) == -1 || pick.getIntAttr("axis", 0) == 1) || !digits ||
      !isViewOf(pairIds, idSum, {kRows, n * n}, idSum, 1) ||
      digits->first.whole != keyChoice->getResult(1) ||
      digits->second.whole != keyChoice->getResult(1) || digits->first.part != layer.rowHalf ||
      digits->second.part != 1 - layer.rowHalf)
    return reason = "the experts it picks are not `row * " + std::to_string(layer.numKeys) +
                    " + column` of the keys whose scores it sums",
           failure();
  Value ids = pick.getResult(0);

  // The experts: `act(down_embed[ids] @ x) * weights`, then `@ up_embed[ids]`.
  onnx::NodeOp down = findRowsMatMul(ids, 0, layer.downEmbed);
  layer.combine = findRowsMatMul(ids, 1, layer.upEmbed);
  if (!down || !layer.combine)
    return reason = "its experts are not one MatMul of the gathered rows of each of two "
                    "tables",
           failure();
  if (!isViewOf(down.getInputs()[1], layer.tokens, {kRows, hidden, 1}, layer.tokens, rowDims))
    return reason = describe(down) + " does not read the router's tokens as [T, H, 1]", failure();
  Value weighted = skipReshapes(layer.combine.getInputs()[0]);
  onnx::NodeOp scale = getDefiningNode(weighted, "Mul");
  std::optional<unsigned> weightIndex =
      scale ? matchEitherInput(scale, [&](Value value) { return value == layer.routing.weights; })
            : std::nullopt;
  std::optional<Activated> activated =
      weightIndex ? matchActivation(scale.getInputs()[1 - *weightIndex]) : std::nullopt;
  if (!weightIndex || !activated ||
      !isViewOf(layer.combine.getInputs()[0], weighted, {kRows, 1, layer.routing.k}, layer.tokens,
                rowDims) ||
      !isViewOf(activated->input, down.getResult(0), {kRows, layer.routing.k}, layer.tokens,
                rowDims))
    return reason = describe(layer.combine) + " does not sum the experts' activated outputs "
                                              "times the routing weights of their slots",
           failure();
  layer.activation = activated->activation;

  auto downType = getRanked(layer.downEmbed), upType = getRanked(layer.upEmbed);
  int64_t experts = n * n;
  if (downType != upType || downType.getDimSize(0) != experts || downType.getDimSize(1) != hidden ||
      downType.getElementType() != tokensType.getElementType())
    return reason = "its embeddings are not " + std::to_string(experts) + " rows of " +
                    std::to_string(hidden) + " of the tokens' element type",
           failure();
  if (layer.routing.k > experts)
    return reason = describe(choice) + " picks more experts than there are", failure();
  return layer;
}

/// moe.layer's router logits `[T, n * n]` from the keys `[2, T, n]`: `row[t, a] + column[t,
/// b]` at `a * n + b`.
Value buildPairLogits(PatternRewriter &rewriter, GlueBuilder &glue, const ProductKeyLayer &layer) {
  Location loc = layer.keyLogits.getLoc();
  int64_t n = layer.numKeys;
  auto keysType = llvm::cast<RankedTensorType>(layer.keyLogits.getType());
  Type element = keysType.getElementType();
  auto withShape = [&](ArrayRef<int64_t> shape) { return RankedTensorType::get(shape, element); };
  constexpr int64_t dynamic = ShapedType::kDynamic;
  Value keys = layer.keyLogits;
  // Proven above: the keys' last dim is n.
  auto staticKeys = withShape({2, keysType.getDimSize(1), n});
  if (keysType != staticKeys)
    keys = tensor::CastOp::create(rewriter, loc, staticKeys, keys);
  // One half viewed as `[T, n, 1]` (rows) or `[T, 1, n]` (columns); 0 keeps T.
  auto halfView = [&](StringRef what, int64_t part, ArrayRef<int64_t> view) {
    Value keysOfHalf =
        glue.node("Gather", what, withShape({dynamic, n}),
                  {keys, glue.i64s((what + "_half").str(), part, /*scalar=*/true)}, glue.axis(0));
    return glue.node("Reshape", (what + "_view").str(), withShape({dynamic, view[1], view[2]}),
                     {keysOfHalf, glue.i64s((what + "_shape").str(), view)});
  };
  Value row = halfView("key_row", layer.rowHalf, {0, n, 1});
  Value column = halfView("key_column", 1 - layer.rowHalf, {0, 1, n});
  Value sums = glue.node("Add", "pair_sums", withShape({dynamic, n, n}), {row, column});
  return glue.node("Flatten", "pair_logits", withShape({dynamic, n * n}), {sums}, glue.axis(1));
}

/// Raises one product-key layer, anchored on the TopK that chooses its experts.
struct RaiseProductKeyLayer : RaisePattern {
  using RaisePattern::RaisePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp choice, PatternRewriter &rewriter) const override {
    Reason reason;
    FailureOr<ProductKeyLayer> layer = matchProductKeyLayer(choice, reason);
    if (failed(layer)) {
      if (!reason.empty())
        remarks.notRaised(choice, describe(choice) + " not raised to moe.layer: " + reason);
      return failure();
    }
    onnx::NodeOp combine = layer->combine;
    rewriter.setInsertionPoint(combine);
    GlueBuilder glue(rewriter, combine);
    auto tokensType = llvm::cast<RankedTensorType>(layer->tokens.getType());
    int64_t hidden = tokensType.getShape().back(), experts = layer->numKeys * layer->numKeys;
    Type element = tokensType.getElementType();
    auto flatType = RankedTensorType::get({ShapedType::kDynamic, hidden}, element);
    Value tokens = glue.node("Flatten", "tokens", flatType, {layer->tokens},
                             glue.axis(tokensType.getRank() - 1));
    Value logits = buildPairLogits(rewriter, glue, *layer);
    // An expert's input row is its up projection `[H, 1]`, its output row its down `[1, H]`.
    Value up = retypeConstant(rewriter, layer->downEmbed,
                              RankedTensorType::get({experts, hidden, 1}, element));
    Value down = retypeConstant(rewriter, layer->upEmbed,
                                RankedTensorType::get({experts, 1, hidden}, element));
    ExpertBody body;
    body.activation = layer->activation;
    Value result = moe::LayerOp::create(
        rewriter, combine.getLoc(), flatType, tokens, up, down, /*router_weight=*/Value(), logits,
        /*router_bias=*/Value(), /*score_bias=*/Value(), /*up_bias=*/Value(),
        /*down_bias=*/Value(), /*shared_up=*/Value(), /*shared_down=*/Value(),
        /*shared_gate=*/Value(), layer->routing.getAttr(rewriter.getContext()),
        body.getAttr(rewriter.getContext()));
    result = glue.node("Reshape", "slot_sum_view",
                       RankedTensorType::get({ShapedType::kDynamic, 1, hidden}, element),
                       {result, glue.i64s("slot_sum_shape", {0, 1, hidden})});
    Value replacement = castLayerResult(rewriter, result, combine->getResult(0).getType());
    if (!replacement) {
      remarks.notRaised(choice, describe(choice) + " not raised to moe.layer: the type of " +
                                    describe(combine) + " differs from the tokens'");
      return failure();
    }
    rewriter.replaceOp(combine, replacement);
    return success();
  }
};

struct RaiseProductKeyMoEPass : moec::impl::RaiseProductKeyMoEBase<RaiseProductKeyMoEPass> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseProductKeyLayer>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
