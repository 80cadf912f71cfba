//===- RouterMatcher.cpp - Recover an MoE router from an onnx-level graph -===//

#include "RouterMatcher.h"

using namespace mlir;
using namespace moec;
using namespace moec::raise;

/// Whether `node` works on the last axis of its rank-2 input (attribute `axis`, default -1,
/// or the single entry of constant input `axesInput`).
static bool isOnLastAxis(onnx::NodeOp node, std::optional<unsigned> axesInput = std::nullopt) {
  auto type = llvm::dyn_cast<RankedTensorType>(node.getInputs()[0].getType());
  if (!type || type.getRank() != 2)
    return false;
  int64_t axis = getIntAttr(node, "axis", -1);
  if (axesInput) {
    std::optional<SmallVector<int64_t>> axes =
        hasInput(node, *axesInput) ? getIntConstant(node.getInputs()[*axesInput]) : std::nullopt;
    if (!axes || axes->size() != 1)
      return false;
    axis = (*axes)[0];
  }
  return axis == -1 || axis == 1;
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

/// `Div(values, ReduceSum(values, [-1], keepdims = 1))` among the users of `values`.
static Value findRenormalized(Value values) {
  for (Operation *user : values.getUsers()) {
    auto sum = llvm::dyn_cast<onnx::NodeOp>(user);
    if (!sum || sum.getOpType() != "ReduceSum" ||
        sum.getInputs()[0] != values || !isOnLastAxis(sum, 1u) ||
        getIntAttr(sum, "keepdims", 1) != 1)
      continue;
    for (Operation *sumUser : sum.getResult(0).getUsers()) {
      auto div = llvm::dyn_cast<onnx::NodeOp>(sumUser);
      if (div && div.getOpType() == "Div" &&
          div.getInputs()[0] == values && div.getInputs()[1] == sum.getResult(0))
        return div.getResult(0);
    }
  }
  return {};
}

FailureOr<Routing> moec::raise::matchRouting(onnx::NodeOp topK, Reason &reason) {
  Routing routing;
  std::optional<SmallVector<int64_t>> k = getIntConstant(topK.getInputs()[1]);
  if (!k || k->size() != 1 || (*k)[0] < 1)
    return reason = describe(topK) + " has no constant k", failure();
  if (!isOnLastAxis(topK) || getIntAttr(topK, "largest", 1) != 1)
    return reason = describe(topK) + " does not pick the largest of the last axis of a [T, E] "
                                     "tensor",
           failure();
  routing.k = (*k)[0];
  routing.expertIds = topK.getResult(1);
  Value values = topK.getResult(0);

  Value chosenFrom = skipFloatCasts(topK.getInputs()[0]);
  Value logits;
  if (onnx::NodeOp softmax = getDefiningNode(chosenFrom, "Softmax")) {
    if (!isOnLastAxis(softmax))
      return reason = describe(softmax) + " is not over the experts", failure();
    logits = softmax.getInputs()[0];
    Value renormalized = findRenormalized(values);
    routing.renormalize = bool(renormalized);
    routing.weights = renormalized ? renormalized : values;
  } else if (onnx::NodeOp softmax = findSoftmaxUser(values)) {
    logits = chosenFrom;
    routing.topkFirst = true;
    routing.weights = softmax.getResult(0);
  } else {
    Operation *op = chosenFrom.getDefiningOp();
    return reason = describe(topK) + " chooses from " +
                    (op ? describe(op) : std::string("a block argument")) +
                    ", not from a softmax of router logits or from logits whose top k are "
                    "softmaxed",
           failure();
  }
  FailureOr<Linear> router = matchLinear(logits, reason);
  if (failed(router))
    return reason = "router: " + reason, failure();
  routing.router = *router;
  if (routing.k > routing.getNumExperts())
    return reason = describe(topK) + " picks more experts than the router has", failure();
  return routing;
}

moe::RoutingAttr Routing::getAttr(MLIRContext *context) const {
  return moe::RoutingAttr::get(context, scoring, k, renormalize, topkFirst, /*n_group=*/1,
                               /*topk_group=*/1, /*routed_scaling_factor=*/llvm::APFloat(1.0),
                               /*capacity_factor=*/llvm::APFloat(0.0));
}
