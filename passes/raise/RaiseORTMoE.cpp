//===- RaiseORTMoE.cpp - onnxruntime's com.microsoft.MoE to moe.layer -----===//
//
// onnxruntime's MoE contrib op is already one whole MoE layer; raising it is a matter of
// translating its attributes and bringing its constant expert weights into moe.layer's
// layout. Anything the translation cannot reproduce exactly leaves the node as it is,
// with a remark that says why: a wrong raise would be a silent wrong result. A node whose
// expert weights do not fit together is no layer at all (onnxruntime refuses it when run):
// that is an error naming the node.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/Raise/Passes.h"

#include "ORTMoE.h"
#include "RaiseDriver.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace moec {
#define GEN_PASS_DEF_RAISEORTMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;
using namespace moec::raise::ort;

namespace {

/// The positions of com.microsoft.MoE's inputs.
enum ORTMoEInput : unsigned {
  kInput = 0,
  kRouterProbs = 1,
  kFc1Weights = 2,
  kFc1Bias = 3,
  kFc2Weights = 4,
  kFc2Bias = 5,
  kFc3Weights = 6,
  kFc3Bias = 7,
};

/// Everything a moe.layer needs from one ORT MoE node, checked.
struct LayerPlan {
  moe::RoutingAttr routing;
  moe::ExpertAttr expert;
  int64_t experts = 0, hidden = 0, inter = 0;
  Type elementType;
  /// fc1 (and fc3) weights and the down projection (fc2), in ORT's layout.
  SmallVector<Projection> upSources;
  Projection downSource;
  Biases biases;
  SmallVector<ColumnRun> upColumns;
};

/// Reads and checks one ORT MoE node.
class NodeReader {
public:
  explicit NodeReader(onnx::NodeOp node) : node(node) {}

  /// The layer the node stands for, or failure with the reason in `why`.
  FailureOr<LayerPlan> plan(std::string &why);

  /// Whether `plan` failed because the node's weights contradict each other.
  bool isMalformed() const { return malformed; }

private:
  Value input(unsigned index) { return node.getInputs()[index]; }

  /// The static shape and bytes of constant input `index` (named `what`), of rank `rank`,
  /// in element type `elementType`.
  FailureOr<std::pair<ArrayRef<int64_t>, Projection>>
  readConstant(unsigned index, StringRef what, int64_t rank, Type elementType, std::string &why);

  onnx::NodeOp node;
  bool malformed = false;
};

FailureOr<std::pair<ArrayRef<int64_t>, Projection>>
NodeReader::readConstant(unsigned index, StringRef what, int64_t rank, Type elementType,
                         std::string &why) {
  auto type = llvm::dyn_cast<RankedTensorType>(input(index).getType());
  // A splat (which the importer makes of small uniform tensors) is not read as weights.
  std::optional<ConstantBytes> bytes = getConstantBytes(input(index));
  if (!type || !bytes || bytes->splat) {
    why = (what + " is not a constant").str();
    return failure();
  }
  if (type.getRank() != rank) {
    why = (what + " has rank " + Twine(type.getRank()) + ", not " + Twine(rank)).str();
    return failure();
  }
  if (type.getElementType() != elementType) {
    why = (what + " has a different element type from input").str();
    return failure();
  }
  Projection projection;
  projection.constant = input(index);
  projection.bytes = *bytes;
  return std::make_pair(type.getShape(), projection);
}

FailureOr<LayerPlan> NodeReader::plan(std::string &why) {
  LayerPlan plan;

  auto inputType = llvm::dyn_cast<RankedTensorType>(input(kInput).getType());
  auto probsType = llvm::dyn_cast<RankedTensorType>(input(kRouterProbs).getType());
  if (!inputType || (inputType.getRank() != 2 && inputType.getRank() != 3) ||
      !llvm::isa<FloatType>(inputType.getElementType())) {
    why = "input must be a 2-D or 3-D float tensor";
    return failure();
  }
  plan.hidden = inputType.getShape().back();
  if (ShapedType::isDynamic(plan.hidden)) {
    why = "the hidden size (the last dimension of input) is not static";
    return failure();
  }
  plan.elementType = inputType.getElementType();
  if (!probsType || probsType.getRank() != 2 || probsType.getElementType() != plan.elementType) {
    why = "router_probs must be a 2-D tensor of input's element type";
    return failure();
  }
  bool hasFc3 = node.hasInput(kFc3Weights);
  FailureOr<ExpertBody> body = readExpertBody(node, hasFc3, node.hasInput(kFc3Bias), why);
  if (failed(body))
    return failure();
  plan.expert = body->expert;
  bool fusedFc1 = body->fusedFc1;

  // The weights, and which of ORT's two layouts they are in. ORT tells them apart from
  // fc2's shape, the one weight whose dimensions differ between them unless hidden and
  // inter sizes are equal; then only a fused fc1 can tell (moe_helper.h, CheckInputs).
  auto fc1 = readConstant(kFc1Weights, "fc1_experts_weights", 3, plan.elementType, why);
  if (failed(fc1))
    return failure();
  auto fc2 = readConstant(kFc2Weights, "fc2_experts_weights", 3, plan.elementType, why);
  if (failed(fc2))
    return failure();
  ArrayRef<int64_t> fc1Shape = fc1->first, fc2Shape = fc2->first;
  int64_t hidden = plan.hidden;
  if ((fc2Shape[1] * fc2Shape[2]) % hidden != 0) {
    why = ("fc2_experts_weights " + describeShape(fc2Shape) + " does not match hidden size " +
           Twine(hidden))
              .str();
    malformed = true;
    return failure();
  }
  int64_t inter = fc2Shape[1] * fc2Shape[2] / hidden;
  int64_t experts = fc1Shape[0];
  bool legacy = (hidden != inter && fc2Shape[1] == inter) ||
                (hidden == inter && fusedFc1 && fc1Shape[1] == hidden);
  int64_t fc1Columns = fusedFc1 ? 2 * inter : inter;
  auto expectShape = [&](ArrayRef<int64_t> shape, ArrayRef<int64_t> expected, StringRef what) {
    if (shape == expected)
      return true;
    why = (what + " is " + describeShape(shape) + " but must be " + describeShape(expected) +
           (legacy ? " (legacy layout)" : ""))
              .str();
    malformed = true;
    return false;
  };
  auto projectionShape = [&](int64_t in, int64_t out) -> SmallVector<int64_t> {
    return legacy ? SmallVector<int64_t>{experts, in, out} : SmallVector<int64_t>{experts, out, in};
  };
  if (!expectShape(fc1Shape, projectionShape(hidden, fc1Columns), "fc1_experts_weights") ||
      !expectShape(fc2Shape, projectionShape(inter, hidden), "fc2_experts_weights"))
    return failure();
  if (probsType.getDimSize(1) != experts) {
    why = ("router_probs scores " + Twine(probsType.getDimSize(1)) + " experts but there are " +
           Twine(experts) + " (expert parallel shards are not supported)")
              .str();
    return failure();
  }
  plan.experts = experts;
  plan.inter = inter;
  auto projection = [&](Projection source, int64_t in, int64_t out) {
    source.in = in;
    source.out = out;
    source.legacyLayout = legacy;
    return source;
  };
  plan.upSources.push_back(projection(fc1->second, hidden, fc1Columns));
  plan.downSource = projection(fc2->second, inter, hidden);
  if (hasFc3) {
    auto fc3 = readConstant(kFc3Weights, "fc3_experts_weights", 3, plan.elementType, why);
    if (failed(fc3) ||
        !expectShape(fc3->first, projectionShape(hidden, inter), "fc3_experts_weights"))
      return failure();
    plan.upSources.push_back(projection(fc3->second, hidden, inter));
  }

  // Biases, [E, out]. A gated layer with only one of fc1's and fc3's biases gets zeros for
  // the other.
  auto readBias = [&](unsigned index, StringRef what, int64_t out,
                      Projection &bias) -> LogicalResult {
    bias = Projection{};
    bias.out = out;
    if (!node.hasInput(index))
      return success();
    auto constant = readConstant(index, what, 2, plan.elementType, why);
    if (failed(constant) || !expectShape(constant->first, {experts, out}, what))
      return failure();
    bias.constant = constant->second.constant;
    bias.bytes = constant->second.bytes;
    return success();
  };
  Biases &biases = plan.biases;
  biases.up.resize(plan.upSources.size());
  if (failed(readBias(kFc1Bias, "fc1_experts_bias", fc1Columns, biases.up[0])) ||
      failed(readBias(kFc2Bias, "fc2_experts_bias", hidden, biases.down)) ||
      (hasFc3 && failed(readBias(kFc3Bias, "fc3_experts_bias", inter, biases.up[1]))))
    return failure();
  biases.hasUp = node.hasInput(kFc1Bias) || node.hasInput(kFc3Bias);
  biases.hasDown = node.hasInput(kFc2Bias);

  plan.upColumns = getUpColumns(*body, hasFc3, inter);
  FailureOr<moe::RoutingAttr> routing = readRouting(node, experts, why);
  if (failed(routing))
    return failure();
  plan.routing = *routing;
  return plan;
}

/// Raises one `com.microsoft.MoE` node into `moe.layer`. A malformed node gets an error (once,
/// like a remark) and sets `sawError`, which fails the pass; so does a weight that cannot be
/// written.
struct RaiseORTMoENode : RaisePattern {
  using RaisePattern::RaisePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    if (node.getOpType() != "MoE" || node.getDomain() != "com.microsoft" ||
        node.getNumResults() != 1)
      return failure();
    std::string whyNot;
    NodeReader reader(node);
    FailureOr<LayerPlan> plan = reader.plan(whyNot);
    if (reader.isMalformed()) {
      if (remarks.firstError(node))
        node.emitError() << "node " << raise::describe(node)
                         << ": the expert weights do not fit together: " << whyNot;
      sawError = true;
      return failure();
    }
    Value tokens = node.getInputs()[kInput];
    if (succeeded(plan))
      whyNot = checkLayerResult(node, tokens);
    if (!whyNot.empty()) {
      remarks.notRaised(node, "not raised: " + whyNot);
      return failure();
    }

    Location loc = node.getLoc();
    StringRef nodeName = node.getName().empty() ? StringRef("ort_moe") : node.getName();
    int64_t upWidth = getWidth(plan->upColumns);
    SmallVector<ColumnRun> downColumns{{0, 0, 1, plan->hidden}};

    auto tensorType = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, plan->elementType);
    };
    // A weight that cannot be written is an error that fails the pass (like a malformed
    // node), so the constants made before it need no cleaning up.
    auto weight = [&](FailureOr<Value> value) {
      sawError = sawError || failed(value);
      return succeeded(value) ? *value : Value();
    };
    Value up = weight(createWeight(rewriter, loc, nodeName + ".up_weight",
                                   tensorType({plan->experts, plan->hidden, upWidth}),
                                   plan->upSources, plan->upColumns, plan->hidden));
    Value down = weight(createWeight(rewriter, loc, nodeName + ".down_weight",
                                     tensorType({plan->experts, plan->inter, plan->hidden}),
                                     plan->downSource, downColumns, plan->inter));
    Value upBias, downBias;
    sawError = sawError || failed(plan->biases.create(rewriter, loc, nodeName,
                                                      plan->elementType, plan->experts,
                                                      plan->hidden, plan->upColumns, upBias,
                                                      downBias));
    if (sawError)
      return failure();

    replaceWithLayer(rewriter, node, tokens, node.getInputs()[kRouterProbs], up, down, upBias,
                     downBias, plan->routing, plan->expert);
    return success();
  }
};

struct RaiseORTMoE : moec::impl::RaiseORTMoEBase<RaiseORTMoE> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseORTMoENode>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
