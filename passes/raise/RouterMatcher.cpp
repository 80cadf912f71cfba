//===- RouterMatcher.cpp - Recover an MoE router from an onnx-level graph -===//

#include "RouterMatcher.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace moec;
using namespace moec::raise;

/// Whether `node` works on the last axis of its input of rank `rank` (attribute `axis`,
/// default -1, or the single entry of constant input `axesInput`).
static bool isOnLastAxis(onnx::NodeOp node, std::optional<unsigned> axesInput = std::nullopt,
                         int64_t rank = 2) {
  auto type = llvm::dyn_cast<RankedTensorType>(node.getInputs()[0].getType());
  if (!type || type.getRank() != rank)
    return false;
  int64_t axis = node.getIntAttr("axis", -1);
  if (axesInput) {
    std::optional<SmallVector<int64_t>> axes =
        node.hasInput(*axesInput) ? getIntConstant(node.getInputs()[*axesInput]) : std::nullopt;
    if (!axes || axes->size() != 1)
      return false;
    axis = (*axes)[0];
  }
  return axis == -1 || axis == rank - 1;
}

/// The constant k of a TopK that picks the largest on the last axis of a rank `rank`
/// input, or nothing.
static std::optional<int64_t> getTopKCount(onnx::NodeOp topK, int64_t rank = 2) {
  std::optional<SmallVector<int64_t>> k = getIntConstant(topK.getInputs()[1]);
  if (!k || k->size() != 1 || (*k)[0] < 1 || !isOnLastAxis(topK, std::nullopt, rank) ||
      topK.getIntAttr("largest", 1) != 1)
    return std::nullopt;
  return (*k)[0];
}

/// The user of `value` (through float Casts) that is a last-axis Softmax, or null.
static onnx::NodeOp findSoftmaxUser(Value value) {
  for (Operation *user : value.getUsers()) {
    auto node = llvm::dyn_cast<onnx::NodeOp>(user);
    if (!node || !node.getDomain().empty())
      continue;
    if (node.getOpType() == "Softmax" && isOnLastAxis(node))
      return node;
    if (node.getOpType() == "Cast" && skipFloatCasts(node.getResult(0)) == value)
      if (onnx::NodeOp softmax = findSoftmaxUser(node.getResult(0)))
        return softmax;
  }
  return {};
}

/// The largest constant added to a renormalizing sum that raising drops. DeepSeek-V3 adds
/// 1e-20, which changes an f32 sum only when it is below 2^-42: when all k chosen sigmoid
/// scores are below 1e-13 (router logits below -29). A bf16 model holds 1e-20 rounded to
/// 8 significant bits, 1.0007e-20: the bound allows that rounding (2^-8 relative). Larger
/// constants (LFM2-MoE's 1e-6) are kept as the routing's `renormalize_epsilon`.
static constexpr double kNegligibleEpsilon = 1e-20 * (1.0 + 1.0 / 256);

namespace {
/// Renormalized weights and the constant added to their sum first (0 for none).
struct Renormalized {
  Value weights;
  double epsilon = 0.0;
};
} // namespace

/// Whether `sum` is `ReduceSum(values, [-1], keepdims = 1)` or `ReduceL1` of the same
/// (DBRX's `torch.norm(p = 1)`): the same sum, since the values renormalized are scores,
/// never negative. Below opset 18 ReduceL1 takes its axes as an attribute.
static bool isSumOverExperts(onnx::NodeOp sum, Value values) {
  if (!sum.getDomain().empty() || sum.getInputs()[0] != values ||
      sum.getIntAttr("keepdims", 1) != 1)
    return false;
  if (sum.getOpType() == "ReduceSum")
    return isOnLastAxis(sum, 1u);
  if (sum.getOpType() != "ReduceL1")
    return false;
  if (sum.hasInput(1))
    return isOnLastAxis(sum, 1u);
  std::optional<SmallVector<int64_t>> axes = sum.getIntsAttr("axes");
  auto type = llvm::dyn_cast<RankedTensorType>(values.getType());
  return type && type.getRank() == 2 && axes && axes->size() == 1 &&
         ((*axes)[0] == -1 || (*axes)[0] == 1);
}

/// `Div(values, ReduceSum(values, [-1], keepdims = 1))` among the users of `values`, the
/// sum optionally plus a non-negative constant epsilon, or clipped from below by a constant
/// that it never is below (`sumLowerBound`: the top-k of E softmax scores sum to k / E or
/// more; ERNIE 4.5 clamps the sum at 1e-12).
static std::optional<Renormalized> findRenormalized(Value values, double sumLowerBound) {
  auto findDivision = [&](Value denominator) -> Value {
    for (Operation *user : denominator.getUsers()) {
      auto div = llvm::dyn_cast<onnx::NodeOp>(user);
      if (div && div.getOpType() == "Div" && div.getDomain().empty() &&
          div.getInputs()[0] == values && div.getInputs()[1] == denominator)
        return div.getResult(0);
    }
    return {};
  };
  for (Operation *user : values.getUsers()) {
    auto sum = llvm::dyn_cast<onnx::NodeOp>(user);
    if (!sum || !isSumOverExperts(sum, values))
      continue;
    if (Value divided = findDivision(sum.getResult(0)))
      return Renormalized{divided};
    for (Operation *sumUser : sum.getResult(0).getUsers()) {
      auto clip = llvm::dyn_cast<onnx::NodeOp>(sumUser);
      if (clip && clip.getOpType() == "Clip" && clip.getDomain().empty() &&
          clip.getInputs()[0] == sum.getResult(0) && clip.hasInput(1) && !clip.hasInput(2))
        if (std::optional<double> low = getScalarConstant(clip.getInputs()[1]);
            low && *low <= sumLowerBound)
          if (Value divided = findDivision(clip.getResult(0)))
            return Renormalized{divided};
      auto add = llvm::dyn_cast<onnx::NodeOp>(sumUser);
      if (!add || add.getOpType() != "Add" || !add.getDomain().empty())
        continue;
      std::optional<unsigned> sumIndex =
          matchEitherInput(add, [&](Value value) { return value == sum.getResult(0); });
      std::optional<double> epsilon =
          sumIndex ? getScalarConstant(add.getInputs()[1 - *sumIndex]) : std::nullopt;
      if (!epsilon || !(*epsilon >= 0.0) || !std::isfinite(*epsilon) ||
          add.getResult(0).getType() != sum.getResult(0).getType())
        continue;
      if (Value divided = findDivision(add.getResult(0)))
        return Renormalized{divided, *epsilon <= kNegligibleEpsilon ? 0.0 : *epsilon};
    }
  }
  return std::nullopt;
}

/// `Mul(weights, c)` (either order) with a positive scalar constant c, the only user of
/// `weights`: the product and c.
static std::optional<std::pair<Value, double>> findScaled(Value weights) {
  if (!weights.hasOneUse())
    return std::nullopt;
  auto mul = llvm::dyn_cast<onnx::NodeOp>(*weights.getUsers().begin());
  if (!mul || mul.getOpType() != "Mul" || !mul.getDomain().empty() || mul.getInputs().size() != 2)
    return std::nullopt;
  Value other = mul.getInputs()[mul.getInputs()[0] == weights ? 1 : 0];
  std::optional<double> factor = getScalarConstant(other);
  if (!factor || !(*factor > 0.0) || mul.getResult(0).getType() != weights.getType())
    return std::nullopt;
  return std::make_pair(mul.getResult(0), *factor);
}

/// `value` with Reshapes of a `[?, E]` tensor to `[-1, E]` (torch's `view(-1, E)` of a
/// tensor already that shape) looked through.
static Value skipRowViews(Value value) {
  while (onnx::NodeOp reshape = getDefiningNode(value, "Reshape")) {
    auto type = llvm::dyn_cast<RankedTensorType>(value.getType());
    if (!type || type.getRank() != 2 || type.isDynamicDim(1) ||
        reshape.getInputs()[0].getType() != type ||
        !hasIntsInput(reshape, 1, {-1, type.getDimSize(1)}))
      break;
    value = reshape.getInputs()[0];
  }
  return value;
}

namespace {
/// What a router chooses from: its scores (`Sigmoid(logits)`, `Sqrt(Softplus(logits))`, or
/// `Softmax(logits)` when biased: ERNIE 4.5), optionally plus a score bias.
struct ScoreChoice {
  /// The node whose result is the scores.
  onnx::NodeOp scores;
  Value logits;
  moe::Scoring scoring;
  /// The bias constant (`[E]` or `[1, E]`), or null.
  Value bias;
};

/// DeepSeek-V3's group limit, `Where(mask of the best groups' experts, choice, fill)`:
/// experts form `nGroup` groups of `groupSize`; a group ranks by the sum of its two best
/// choice scores; the experts outside the best `topkGroup` groups are set to `fill`.
struct GroupLimit {
  Value choice;
  int64_t nGroup, groupSize, topkGroup;
  double fill;
};
} // namespace

/// Whether `value` is a float constant of shape `[E]` or `[1, E]`.
static bool isScoreBiasConstant(Value value, int64_t numExperts) {
  std::optional<ConstantBytes> constant = getConstantBytes(value);
  if (!constant || !llvm::isa<FloatType>(constant->type.getElementType()))
    return false;
  ArrayRef<int64_t> shape = constant->type.getShape();
  return shape == ArrayRef<int64_t>{numExperts} || shape == ArrayRef<int64_t>{1, numExperts};
}

/// The smallest threshold above which a softplus may be the identity: above 16,
/// softplus(x) - x = log1p(exp(-x)) < 1.2e-7 is under a tenth of half an f32 ulp of x.
static constexpr double kSoftplusIdentityThreshold = 16.0;

/// The logits `x` of `softplus(x)`: `Softplus(x)`, or torch's thresholded softplus as
/// torch.export writes it, `Where(Greater(x, c), x, Softplus(x))` with c >= 16.
static Value matchSoftplus(Value value) {
  if (onnx::NodeOp softplus = getDefiningNode(value, "Softplus"))
    return softplus.getInputs()[0];
  onnx::NodeOp where = getDefiningNode(value, "Where");
  onnx::NodeOp greater = where ? getDefiningNode(where.getInputs()[0], "Greater") : nullptr;
  onnx::NodeOp softplus = where ? getDefiningNode(where.getInputs()[2], "Softplus") : nullptr;
  if (!greater || !softplus)
    return {};
  Value logits = softplus.getInputs()[0];
  std::optional<double> threshold = getScalarConstant(greater.getInputs()[1]);
  if (greater.getInputs()[0] != logits || where.getInputs()[1] != logits || !threshold ||
      !(*threshold >= kSoftplusIdentityThreshold))
    return {};
  return logits;
}

/// The scores of `value`: `Sigmoid(logits)`, `Sqrt(softplus(logits))` or a Softmax over the
/// experts.
static std::optional<ScoreChoice> matchScores(Value value) {
  if (onnx::NodeOp sigmoid = getDefiningNode(skipRowViews(value), "Sigmoid"))
    return ScoreChoice{sigmoid, sigmoid.getInputs()[0], moe::Scoring::sigmoid, Value()};
  if (onnx::NodeOp sqrt = getDefiningNode(skipRowViews(value), "Sqrt"))
    if (Value logits = matchSoftplus(sqrt.getInputs()[0]))
      return ScoreChoice{sqrt, logits, moe::Scoring::sqrt_softplus, Value()};
  if (onnx::NodeOp softmax = getDefiningNode(skipRowViews(value), "Softmax");
      softmax && isOnLastAxis(softmax))
    return ScoreChoice{softmax, softmax.getInputs()[0], moe::Scoring::softmax, Value()};
  return std::nullopt;
}

/// Sigmoid or sqrt-softplus scores, or any scores plus a constant score bias (softmax scores
/// alone are the first case of matchRouting).
static std::optional<ScoreChoice> matchScoreChoice(Value choice, int64_t numExperts) {
  if (std::optional<ScoreChoice> scores = matchScores(choice);
      scores && scores->scoring != moe::Scoring::softmax)
    return scores;
  onnx::NodeOp add = getDefiningNode(choice, "Add");
  std::optional<unsigned> biasIndex =
      matchEitherInput(add, [&](Value value) { return isScoreBiasConstant(value, numExperts); });
  if (!biasIndex || add.getResult(0).getType() != add.getInputs()[1 - *biasIndex].getType())
    return std::nullopt;
  std::optional<ScoreChoice> scores = matchScores(add.getInputs()[1 - *biasIndex]);
  if (scores)
    scores->bias = add.getInputs()[*biasIndex];
  return scores;
}

/// `value` with Casts to bool looked through. The group mask is exactly 0 or 1, so the
/// float-to-bool Cast torch writes for `.bool()` keeps its meaning.
static Value skipBoolCasts(Value value) {
  while (onnx::NodeOp cast = getDefiningNode(value, "Cast")) {
    if (!getElementTypeOrSelf(value.getType()).isInteger(1))
      break;
    value = cast.getInputs()[0];
  }
  return value;
}

/// Matches DeepSeek-V3's group limit as torch exports `get_topk_indices`:
///
///   group_scores = choice.view(-1, G, S).topk(2)[0].sum(-1)
///   group_mask = zeros_like(group_scores).scatter_(1, topk(group_scores, topk_group)[1], 1)
///   mask = group_mask.unsqueeze(-1).expand(-1, G, S).reshape(-1, E)
///   choice.masked_fill(~mask.bool(), fill)     (or torch.where(mask.bool(), choice, fill))
static FailureOr<GroupLimit> matchGroupLimit(onnx::NodeOp where, int64_t numExperts,
                                             Reason &reason) {
  auto fail = [&](const Twine &why) {
    reason = (describe(where) + " " + why).str();
    return failure();
  };
  Value keep = skipBoolCasts(where.getInputs()[0]);
  unsigned choiceIndex = 1, fillIndex = 2;
  if (onnx::NodeOp invert = getDefiningNode(keep, "Not")) {
    keep = skipBoolCasts(invert.getInputs()[0]);
    std::swap(choiceIndex, fillIndex);
  }
  GroupLimit limit;
  limit.choice = where.getInputs()[choiceIndex];
  std::optional<double> fill = getScalarConstant(where.getInputs()[fillIndex]);
  if (!fill || !(*fill == 0.0 || *fill == -std::numeric_limits<double>::infinity()))
    return fail("does not mask experts to a constant 0 or -inf");
  limit.fill = *fill;

  // mask = Reshape(Expand(Unsqueeze(group_mask, -1), [1, G, S]), [-1, E])
  onnx::NodeOp flat = getDefiningNode(keep, "Reshape");
  onnx::NodeOp expand = flat ? getDefiningNode(flat.getInputs()[0], "Expand") : nullptr;
  onnx::NodeOp unsqueeze = expand ? getDefiningNode(expand.getInputs()[0], "Unsqueeze") : nullptr;
  auto groupMaskType =
      unsqueeze ? llvm::dyn_cast<RankedTensorType>(unsqueeze.getInputs()[0].getType()) : nullptr;
  std::optional<SmallVector<int64_t>> expandShape =
      expand ? getExpandShape(expand.getInputs()[1]) : std::nullopt;
  if (!expandShape || !hasIntsInput(flat, 1, {-1, numExperts}) || !groupMaskType ||
      groupMaskType.getRank() != 2 || groupMaskType.isDynamicDim(1) ||
      !(hasIntsInput(unsqueeze, 1, {-1}) || hasIntsInput(unsqueeze, 1, {2})))
    return fail("does not keep experts by a [T, groups] mask expanded over each group");
  limit.nGroup = groupMaskType.getDimSize(1);
  limit.groupSize = numExperts / limit.nGroup;
  if (numExperts % limit.nGroup != 0 ||
      ArrayRef<int64_t>(*expandShape) != ArrayRef<int64_t>{1, limit.nGroup, limit.groupSize})
    return fail("does not expand the group mask over " + Twine(limit.nGroup) + " groups of " +
                Twine(limit.groupSize) + " experts");

  // group_mask = ScatterElements(zeros_like(group_scores), topk(group_scores)[1], ones, 1)
  onnx::NodeOp scatter = getDefiningNode(unsqueeze.getInputs()[0], "ScatterElements");
  onnx::NodeOp groupTopK = scatter ? getDefiningNode(scatter.getInputs()[1], "TopK") : nullptr;
  StringRef reduction = scatter ? scatter.getStringAttr("reduction", "none") : "none";
  if (!groupTopK || scatter.getInputs()[1] != groupTopK.getResult(1) ||
      reduction != "none" ||
      !(scatter.getIntAttr("axis", 0) == 1 || scatter.getIntAttr("axis", 0) == -1) ||
      !isZerosLike(scatter.getInputs()[0], groupTopK.getInputs()[0]) ||
      !isFilledLike(scatter.getInputs()[2], groupTopK.getResult(1), 1.0))
    return fail("does not keep the experts of the groups a TopK picks");
  std::optional<int64_t> topkGroup = getTopKCount(groupTopK);
  if (!topkGroup || *topkGroup > limit.nGroup)
    return fail("keeps groups by " + describe(groupTopK) +
                ", which does not pick the best groups of the last axis");
  limit.topkGroup = *topkGroup;

  // group_scores = ReduceSum(TopK(Reshape(choice, [-1, G, S]), 2)[0], [-1], keepdims = 0)
  onnx::NodeOp sum = getDefiningNode(groupTopK.getInputs()[0], "ReduceSum");
  onnx::NodeOp memberTopK = sum ? getDefiningNode(sum.getInputs()[0], "TopK") : nullptr;
  onnx::NodeOp view = memberTopK ? getDefiningNode(memberTopK.getInputs()[0], "Reshape") : nullptr;
  std::optional<int64_t> best = memberTopK ? getTopKCount(memberTopK, 3) : std::nullopt;
  if (!view || sum.getInputs()[0] != memberTopK.getResult(0) ||
      sum.getIntAttr("keepdims", 1) != 0 || !isOnLastAxis(sum, 1u, 3) || !best ||
      view.getInputs()[0] != limit.choice ||
      !hasIntsInput(view, 1, {-1, limit.nGroup, limit.groupSize}))
    return fail("does not rank the groups by the sum of their best scores");
  if (*best != 2)
    return fail("ranks the groups by the sum of their best " + Twine(*best) +
                " scores, not of their best 2");
  return limit;
}

/// The GatherElements among the users of `ids` that reads `scores` at `ids`.
static Value findGatheredScores(Value ids, Value scores) {
  for (Operation *user : ids.getUsers()) {
    auto gather = llvm::dyn_cast<onnx::NodeOp>(user);
    if (gather && gather.getOpType() == "GatherElements" && gather.getDomain().empty() &&
        gather.getInputs()[1] == ids && skipRowViews(gather.getInputs()[0]) == scores &&
        (gather.getIntAttr("axis", 0) == 1 || gather.getIntAttr("axis", 0) == -1))
      return gather.getResult(0);
  }
  return {};
}

namespace {
/// Experts chosen on the router logits, optionally plus a score bias, and weighed by the
/// sigmoid of their own logits (Kolibri).
struct SigmoidOfChosen {
  Value logits;
  /// The bias constant (`[E]` or `[1, E]`), or null.
  Value bias;
  /// `Sigmoid` of the chosen experts' logits, `[T, k]`, or of all the logits with the
  /// others at -inf, `[T, E]` (Llama 4).
  Value weights;
};
} // namespace

/// `Sigmoid(ScatterElements(-inf like logits, ids, chosenLogits))` with `scatter` the
/// ScatterElements, along the experts (Llama 4's `full_like(logits, -inf).scatter_(1, ids,
/// values).sigmoid()`): the chosen experts' weights in their columns, 0 in the others.
/// Null if it is not.
static Value matchSigmoidOfScattered(Operation *scatter, onnx::NodeOp topK, Value chosenLogits) {
  auto node = llvm::dyn_cast<onnx::NodeOp>(scatter);
  if (!node || node.getOpType() != "ScatterElements" || !node.getDomain().empty() ||
      node.getInputs()[1] != topK.getResult(1) || node.getInputs()[2] != chosenLogits ||
      !(node.getIntAttr("axis", 0) == 1 || node.getIntAttr("axis", 0) == -1) ||
      node.getStringAttr("reduction", "none") != "none" ||
      !isFilledLike(node.getInputs()[0], topK.getInputs()[0],
                    -std::numeric_limits<double>::infinity()) ||
      !node.getResult(0).hasOneUse())
    return {};
  auto sigmoid = llvm::dyn_cast<onnx::NodeOp>(*node.getResult(0).getUsers().begin());
  if (!sigmoid || sigmoid.getOpType() != "Sigmoid" || !sigmoid.getDomain().empty())
    return {};
  return sigmoid.getResult(0);
}

/// Matches `TopK(logits [+ bias])` whose chosen logits, `GatherElements(logits, ids)` (or
/// the TopK's values when unbiased), go through a Sigmoid.
static std::optional<SigmoidOfChosen> matchSigmoidOfChosen(onnx::NodeOp topK, Value chosenFrom,
                                                           int64_t numExperts) {
  SigmoidOfChosen chosen{chosenFrom, Value(), Value()};
  if (onnx::NodeOp add = getDefiningNode(chosenFrom, "Add"))
    if (std::optional<unsigned> biasIndex = matchEitherInput(
            add, [&](Value value) { return isScoreBiasConstant(value, numExperts); });
        biasIndex && add.getResult(0).getType() == add.getInputs()[1 - *biasIndex].getType()) {
      chosen.logits = add.getInputs()[1 - *biasIndex];
      chosen.bias = add.getInputs()[*biasIndex];
    }
  Value chosenLogits = findGatheredScores(topK.getResult(1), chosen.logits);
  if (!chosenLogits && !chosen.bias)
    chosenLogits = topK.getResult(0);
  if (!chosenLogits)
    return std::nullopt;
  for (Operation *user : chosenLogits.getUsers()) {
    if (auto sigmoid = llvm::dyn_cast<onnx::NodeOp>(user);
        sigmoid && sigmoid.getOpType() == "Sigmoid" && sigmoid.getDomain().empty()) {
      chosen.weights = sigmoid.getResult(0);
      return chosen;
    }
    if (Value scattered = matchSigmoidOfScattered(user, topK, chosenLogits)) {
      chosen.weights = scattered;
      return chosen;
    }
  }
  return std::nullopt;
}

FailureOr<Routing> moec::raise::matchRoutingChoice(onnx::NodeOp topK, Value &logits,
                                                   Reason &reason) {
  Routing routing;
  std::optional<SmallVector<int64_t>> k = getIntConstant(topK.getInputs()[1]);
  if (!k || k->size() != 1 || (*k)[0] < 1)
    return reason = describe(topK) + " has no constant k", failure();
  if (!getTopKCount(topK))
    return reason = describe(topK) + " does not pick the largest of the last axis of a [T, E] "
                                     "tensor",
           failure();
  routing.k = (*k)[0];
  routing.expertIds = topK.getResult(1);
  Value values = topK.getResult(0);
  int64_t chosenFromExperts =
      llvm::cast<RankedTensorType>(topK.getInputs()[0].getType()).getDimSize(1);

  Value chosenFrom = skipFloatCasts(topK.getInputs()[0]);
  Value unnormalized;
  if (onnx::NodeOp softmax = getDefiningNode(chosenFrom, "Softmax")) {
    if (!isOnLastAxis(softmax))
      return reason = describe(softmax) + " is not over the experts", failure();
    logits = softmax.getInputs()[0];
    unnormalized = values;
  } else if (onnx::NodeOp softmax = findSoftmaxUser(values)) {
    logits = chosenFrom;
    routing.topkFirst = true;
    unnormalized = softmax.getResult(0);
  } else if (std::optional<SigmoidOfChosen> chosen =
                 matchSigmoidOfChosen(topK, chosenFrom, chosenFromExperts)) {
    logits = chosen->logits;
    routing.scoring = moe::Scoring::sigmoid;
    routing.topkFirst = true;
    routing.scoreBias = chosen->bias;
    unnormalized = chosen->weights;
  } else {
    std::optional<GroupLimit> limit;
    Value choice = chosenFrom;
    if (onnx::NodeOp where = getDefiningNode(chosenFrom, "Where")) {
      FailureOr<GroupLimit> matched = matchGroupLimit(where, chosenFromExperts, reason);
      if (failed(matched))
        return failure();
      limit = *matched;
      choice = limit->choice;
    }
    std::optional<ScoreChoice> scored = matchScoreChoice(choice, chosenFromExperts);
    if (!scored) {
      Operation *op = choice.getDefiningOp();
      return reason = describe(topK) + " chooses from " +
                      (op ? describe(op) : std::string("a block argument")) +
                      ", not from a softmax of router logits, from logits (optionally biased) "
                      "whose top k are softmaxed or sigmoided, or from sigmoid, sqrt-softplus "
                      "or biased softmax scores",
             failure();
    }
    routing.scoring = scored->scoring;
    routing.scoreBias = scored->bias;
    logits = scored->logits;
    // The weights are the unbiased scores of the chosen experts; the TopK's own values
    // are those only when it chooses from the plain scores.
    unnormalized = findGatheredScores(routing.expertIds, scored->scores.getResult(0));
    if (!unnormalized && !limit && !scored->bias)
      unnormalized = values;
    if (!unnormalized)
      return reason = "the expert weights are not gathered from the unbiased " +
                      moe::stringifyScoring(scored->scoring).str() + " scores " +
                      describe(scored->scores),
             failure();
    if (limit) {
      routing.nGroup = limit->nGroup;
      routing.topkGroup = limit->topkGroup;
      if (limit->topkGroup * limit->groupSize < routing.k)
        return reason = "it picks " + std::to_string(routing.k) + " experts from the " +
                        std::to_string(limit->topkGroup * limit->groupSize) + " of the best groups",
               failure();
      // Masking to 0 instead of -inf keeps the masked experts out of the top k while every
      // kept expert's choice score is positive (scores plus a non-negative bias); otherwise
      // they still compete at 0 (AXK-2).
      std::optional<SmallVector<double>> bias =
          scored->bias ? getFloatConstant(scored->bias) : SmallVector<double>();
      routing.zeroMaskedGroups =
          limit->fill == 0.0 &&
          (!bias || llvm::any_of(*bias, [](double value) { return value < 0.0; }));
    }
  }
  if (unnormalized) {
    // Summed in f32, k / E may come out a little lower.
    double sumLowerBound = routing.scoring == moe::Scoring::softmax && !routing.topkFirst
                               ? 0.999 * double(routing.k) / double(chosenFromExperts)
                               : 0.0;
    std::optional<Renormalized> renormalized = findRenormalized(unnormalized, sumLowerBound);
    routing.renormalize = bool(renormalized);
    routing.weights = renormalized ? renormalized->weights : unnormalized;
    if (renormalized)
      routing.renormalizeEpsilon = renormalized->epsilon;
  }
  if (std::optional<std::pair<Value, double>> scaled = findScaled(routing.weights)) {
    routing.weights = scaled->first;
    routing.routedScalingFactor = scaled->second;
  }
  return routing;
}

FailureOr<Routing> moec::raise::matchRouting(onnx::NodeOp topK, Reason &reason) {
  Value logits;
  FailureOr<Routing> routing = matchRoutingChoice(topK, logits, reason);
  if (failed(routing))
    return failure();
  int64_t chosenFromExperts =
      llvm::cast<RankedTensorType>(topK.getInputs()[0].getType()).getDimSize(1);
  FailureOr<Linear> router = matchLinear(logits, reason);
  if (failed(router))
    return reason = "router: " + reason, failure();
  routing->router = *router;
  if (routing->getNumExperts() != chosenFromExperts)
    return reason = describe(topK) + " chooses among " + std::to_string(chosenFromExperts) +
                    " experts, the router has " + std::to_string(routing->getNumExperts()),
           failure();
  if (routing->k > routing->getNumExperts())
    return reason = describe(topK) + " picks more experts than the router has", failure();
  return routing;
}

moe::RoutingAttr Routing::getAttr(MLIRContext *context, bool weighInputs) const {
  return moe::RoutingAttr::get(context, scoring, k, renormalize, topkFirst, nGroup, topkGroup,
                               llvm::APFloat(routedScalingFactor),
                               /*capacity_factor=*/llvm::APFloat(0.0),
                               llvm::APFloat(renormalizeEpsilon), llvm::APFloat(jitterEps),
                               zeroMaskedGroups, weighInputs);
}
