//===- SparseMixerMatcher.cpp - Recover PhiMoE's SparseMixer router -------===//

#include "SparseMixerMatcher.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace moec;
using namespace moec::raise;

static constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

/// Whether `axis` is the last axis of `input`, a `[T, E]` tensor with a static E.
static bool isExpertAxis(Value input, int64_t axis) {
  auto type = llvm::dyn_cast<RankedTensorType>(input.getType());
  return type && type.getRank() == 2 && !type.isDynamicDim(1) && (axis == -1 || axis == 1);
}

/// `ReduceMax(chosenFrom, [-1], keepdims = 1)` (axes an input from opset 18, an attribute
/// before): the chosen expert's logit.
static bool isMaxOverExperts(Value value, Value chosenFrom) {
  onnx::NodeOp max = getDefiningNode(value, "ReduceMax");
  if (!max || max.getInputs()[0] != chosenFrom || max.getIntAttr("keepdims", 1) != 1)
    return false;
  std::optional<SmallVector<int64_t>> axes =
      max.hasInput(1) ? getIntConstant(max.getInputs()[1]) : max.getIntsAttr("axes");
  return axes && axes->size() == 1 && isExpertAxis(chosenFrom, (*axes)[0]);
}

/// Matches `softmax` as the weights of the expert whose logit is the max of `chosenFrom`
/// (`logits`, or the logits with the first choice set to -inf):
/// `Softmax(Where(Greater(Div(Sub(m, l), Max(Abs(l), m)), 2 * eps), -inf, chosenFrom))`,
/// `l` the logits or `chosenFrom` (the two differ only at the first choice, which is -inf
/// in `chosenFrom` whether masked or not). Returns 2 * eps.
static FailureOr<double> matchMaskedSoftmax(onnx::NodeOp softmax, Value chosenFrom, Value logits,
                                            Reason &reason) {
  auto isLogits = [&](Value value) { return value == logits || value == chosenFrom; };
  onnx::NodeOp where = getDefiningNode(softmax.getInputs()[0], "Where");
  if (!where || where.getInputs()[2] != chosenFrom ||
      getScalarConstant(where.getInputs()[1]) != kMinusInf)
    return reason = describe(softmax) +
                    " is not a softmax over the logits with the masked ones set to -inf",
           failure();
  onnx::NodeOp greater = getDefiningNode(where.getInputs()[0], "Greater");
  onnx::NodeOp div = greater ? getDefiningNode(greater.getInputs()[0], "Div") : nullptr;
  onnx::NodeOp sub = div ? getDefiningNode(div.getInputs()[0], "Sub") : nullptr;
  onnx::NodeOp factor = div ? getDefiningNode(div.getInputs()[1], "Max") : nullptr;
  Value chosenLogit = sub ? sub.getInputs()[0] : Value();
  std::optional<unsigned> absIndex = matchEitherInput(factor, [&](Value value) {
    onnx::NodeOp abs = getDefiningNode(value, "Abs");
    return abs && isLogits(abs.getInputs()[0]);
  });
  std::optional<double> twiceEps =
      greater ? getScalarConstant(greater.getInputs()[1]) : std::nullopt;
  if (!sub || !absIndex || !isMaxOverExperts(chosenLogit, chosenFrom) ||
      !isLogits(sub.getInputs()[1]) || factor.getInputs()[1 - *absIndex] != chosenLogit ||
      !twiceEps)
    return reason = describe(where) +
                    " does not mask the logits l with (m - l) / max(|l|, m) > 2 eps, m the "
                    "chosen logit and eps a constant",
           failure();
  // A negative width would mask the chosen expert itself: its weight would be NaN.
  if (!(*twiceEps >= 0.0) || !std::isfinite(*twiceEps))
    return reason = describe(greater) + " masks by a width 2 eps = " + std::to_string(*twiceEps) +
                    ", not 0 or positive",
           failure();
  return *twiceEps;
}

namespace {
/// One of SparseMixer's two choices: the expert's ArgMax, its weight and the mask width.
struct Choice {
  onnx::NodeOp argMax;
  Value weight;
  double twiceEps;
};
} // namespace

/// Matches the choice `argMax` and its weight, the masked softmax gathered at it.
static FailureOr<Choice> matchChoice(onnx::NodeOp argMax, Value logits, Reason &reason) {
  Value chosenFrom = argMax.getInputs()[0], expert = argMax.getResult(0);
  if (argMax.getIntAttr("keepdims", 1) != 1 || argMax.getIntAttr("select_last_index", 0) != 0 ||
      !isExpertAxis(chosenFrom, argMax.getIntAttr("axis", 0)))
    return reason = describe(argMax) + " does not pick each token's first largest logit "
                                       "([T, E], keepdims)",
           failure();
  for (onnx::NodeOp gather : getUsers(expert, "GatherElements")) {
    onnx::NodeOp softmax = getDefiningNode(gather.getInputs()[0], "Softmax");
    if (gather.getInputs()[1] != expert || !softmax ||
        !isExpertAxis(gather.getInputs()[0], gather.getIntAttr("axis", 0)) ||
        !isExpertAxis(softmax.getInputs()[0], softmax.getIntAttr("axis", -1)))
      continue;
    FailureOr<double> twiceEps = matchMaskedSoftmax(softmax, chosenFrom, logits, reason);
    if (failed(twiceEps))
      return failure();
    return Choice{argMax, gather.getResult(0), *twiceEps};
  }
  return reason = describe(argMax) + "'s expert is not weighted by a softmax gathered at it",
         failure();
}

/// `Concat(first, second)` on the last axis among the users of `first`, or null.
static Value findConcat(Value first, Value second) {
  for (onnx::NodeOp concat : getUsers(first, "Concat"))
    if (concat.getInputs().size() == 2 && concat.getInputs()[0] == first &&
        concat.getInputs()[1] == second &&
        isExpertAxis(concat.getResult(0), concat.getIntAttr("axis", 0)))
      return concat.getResult(0);
  return {};
}

bool moec::raise::isSparseMixerChoice(onnx::NodeOp concat) {
  return concat.getOpType() == "Concat" && concat.getDomain().empty() &&
         concat.getInputs().size() == 2 && getDefiningNode(concat.getInputs()[0], "ArgMax") &&
         getDefiningNode(concat.getInputs()[1], "ArgMax") &&
         isExpertAxis(concat.getResult(0), concat.getIntAttr("axis", 0));
}

FailureOr<Routing> moec::raise::matchSparseMixerRouting(onnx::NodeOp concat, Reason &reason) {
  onnx::NodeOp first = getDefiningNode(concat.getInputs()[0], "ArgMax");
  onnx::NodeOp second = getDefiningNode(concat.getInputs()[1], "ArgMax");
  Value logits = first.getInputs()[0];
  // The second choice is the best of the logits with the first one set to -inf.
  onnx::NodeOp scatter = getDefiningNode(second.getInputs()[0], "ScatterElements");
  if (!scatter || scatter.getInputs()[0] != logits ||
      scatter.getInputs()[1] != first.getResult(0) ||
      scatter.getStringAttr("reduction", "none") != "none" ||
      !isExpertAxis(logits, scatter.getIntAttr("axis", 0)) ||
      !isFilledLike(scatter.getInputs()[2], first.getResult(0), kMinusInf))
    return reason = describe(second) +
                    " does not choose among the logits with the first choice set to -inf",
           failure();
  FailureOr<Choice> firstChoice = matchChoice(first, logits, reason);
  if (failed(firstChoice))
    return failure();
  FailureOr<Choice> secondChoice = matchChoice(second, logits, reason);
  if (failed(secondChoice))
    return failure();
  if (firstChoice->twiceEps != secondChoice->twiceEps)
    return reason = describe(concat) +
                    " concatenates choices masked by different widths (2 eps = " +
                    std::to_string(firstChoice->twiceEps) + " and " +
                    std::to_string(secondChoice->twiceEps) + ")",
           failure();

  Routing routing;
  routing.scoring = moe::Scoring::sparse_mixer;
  routing.k = 2;
  routing.expertIds = concat.getResult(0);
  routing.weights = findConcat(firstChoice->weight, secondChoice->weight);
  if (!routing.weights)
    return reason = "the weights of " + describe(concat) + "'s choices are not concatenated alike",
           failure();
  // The kernels take eps as an f32: one that is 0.01 in f32 is the default.
  routing.jitterEps = firstChoice->twiceEps / 2;
  if (float(routing.jitterEps) == float(moe::kDefaultJitterEps))
    routing.jitterEps = moe::kDefaultJitterEps;
  FailureOr<Linear> router = matchLinear(logits, reason);
  if (failed(router))
    return reason = "router: " + reason, failure();
  routing.router = *router;
  if (routing.getNumExperts() != llvm::cast<RankedTensorType>(logits.getType()).getDimSize(1) ||
      routing.getNumExperts() < 2)
    return reason = describe(first) + " does not choose among the router's experts, two or more",
           failure();
  return routing;
}
