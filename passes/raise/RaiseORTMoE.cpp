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

#include "ONNXMatch.h"
#include "RaiseDriver.h"
#include "WeightStack.h"

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace moec {
#define GEN_PASS_DEF_RAISEORTMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;

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

/// One stacked projection of an ORT MoE node, from `in` to `out` features per expert.
/// Current exports store it `[E, out, in]`; older ones `[E, in, out]`, which ORT calls the
/// legacy layout. A bias `[E, out]` is a projection with `in == 1` in the legacy layout.
/// Without data (an absent bias) it reads as zeros.
struct Projection {
  /// The constant the data belongs to; null for an absent bias.
  Value constant;
  ArrayRef<char> data;
  int64_t in = 1;
  int64_t out = 0;
  bool legacyLayout = true;

  /// Columns `first, first + step, ...` (`count` of them) of expert `expert`'s weights
  /// `[in, out]`, read in place.
  SourceColumns getColumns(int64_t expert, int64_t first, int64_t step, int64_t count) const {
    if (data.empty())
      return SourceColumns::zeros(count);
    ConstantBytes bytes{llvm::cast<RankedTensorType>(constant.getType()), data};
    return SourceColumns::ofMatrix(bytes, expert * in * out, in, out,
                                   /*transposed=*/!legacyLayout, first, step, count);
  }
};

/// Columns `first, first + step, ...` (`count` of them) of projection `source`: where some
/// columns of a moe.layer operand come from.
struct ColumnRun {
  unsigned source;
  int64_t first = 0;
  int64_t step = 1;
  int64_t count = 0;
};

/// Whether `columns` of `sources` are one whole projection already in moe's layout, in order.
bool isInMoELayout(ArrayRef<Projection> sources, ArrayRef<ColumnRun> columns) {
  if (columns.size() != 1 || !sources[columns.front().source].constant)
    return false;
  const ColumnRun &run = columns.front();
  const Projection &source = sources[run.source];
  return source.legacyLayout && run.first == 0 && run.step == 1 && run.count == source.out;
}

/// Everything a moe.layer needs from one ORT MoE node, checked.
struct LayerPlan {
  moe::RoutingAttr routing;
  moe::ExpertAttr expert;
  int64_t experts = 0, hidden = 0, inter = 0;
  Type elementType;
  /// fc1 (and fc3) weights and the down projection (fc2), in ORT's layout.
  SmallVector<Projection> upSources;
  Projection downSource;
  SmallVector<Projection> upBiasSources;
  Projection downBiasSource;
  SmallVector<ColumnRun> upColumns;
  bool hasUpBias = false, hasDownBias = false;
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

std::string describeShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, [&](int64_t dim) { os << dim; }, ", ");
  os << "]";
  return text;
}

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
  projection.data = bytes->bytes;
  return std::make_pair(type.getShape(), projection);
}

FailureOr<LayerPlan> NodeReader::plan(std::string &why) {
  MLIRContext *context = node.getContext();
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
  // The expert body. ORT's CPU kernel computes "gelu" with the tanh approximation.
  StringRef activationName = node.getStringAttr("activation_type", "relu");
  std::optional<moe::Activation> activation =
      llvm::StringSwitch<std::optional<moe::Activation>>(activationName)
          .Case("relu", moe::Activation::relu)
          .Case("gelu", moe::Activation::gelu_tanh)
          .Case("silu", moe::Activation::silu)
          .Case("swiglu", moe::Activation::swiglu_clamped)
          .Default(std::nullopt);
  if (!activation) {
    why = ("activation_type '" + activationName + "' has no moe.expert equivalent").str();
    return failure();
  }
  bool swiglu = activationName == "swiglu";
  int64_t swigluFusion = node.getIntAttr("swiglu_fusion", 0);
  bool hasFc3 = node.hasInput(kFc3Weights);
  if (swiglu && (swigluFusion < 0 || swigluFusion > 2)) {
    why = ("swiglu_fusion = " + Twine(swigluFusion) + " is not 0, 1 or 2").str();
    return failure();
  }
  bool fusedFc1 = swiglu && swigluFusion != 0;
  if (fusedFc1 && (hasFc3 || node.hasInput(kFc3Bias))) {
    why = "fc3 is given although swiglu_fusion fuses the up projection into fc1";
    return failure();
  }
  if (swiglu && !fusedFc1 && !hasFc3) {
    why = "swiglu_fusion = 0 needs fc3_experts_weights for the up projection";
    return failure();
  }
  if (!hasFc3 && node.hasInput(kFc3Bias)) {
    why = "fc3_experts_bias is given without fc3_experts_weights";
    return failure();
  }
  bool gated = swiglu || hasFc3;

  // ORT's SwiGLU is G * sigmoid(alpha * G) * (L + beta), G = min(g, limit) and
  // L = clamp(l, -limit, limit) when swiglu_limit is given. moe has it with beta = 1
  // (swiglu_clamped) and, unclamped, with alpha = 1 and beta = 0 (gated silu).
  APFloat alpha(1.702), limit(7.0);
  if (swiglu) {
    double alphaValue = node.getFloatAttr("activation_alpha", 1.0);
    double betaValue = node.getFloatAttr("activation_beta", 0.0);
    std::optional<double> limitValue;
    if (node.hasNodeAttr("swiglu_limit"))
      limitValue = node.getFloatAttr("swiglu_limit", 0.0);
    if (limitValue && betaValue == 1.0) {
      alpha = APFloat(alphaValue);
      limit = APFloat(*limitValue);
    } else if (!limitValue && alphaValue == 1.0 && betaValue == 0.0) {
      activation = moe::Activation::silu;
    } else {
      llvm::raw_string_ostream os(why);
      os << "swiglu with activation_alpha = " << alphaValue << ", activation_beta = " << betaValue;
      if (limitValue)
        os << ", swiglu_limit = " << *limitValue;
      else
        os << ", no swiglu_limit";
      os << " is neither swiglu_clamped (beta = 1, with a limit) nor gated silu (alpha = 1, "
            "beta = 0, no limit)";
      return failure();
    }
  }
  plan.expert = moe::ExpertAttr::get(context, *activation, gated, alpha, limit);

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
    bias.data = constant->second.data;
    return success();
  };
  plan.upBiasSources.resize(plan.upSources.size());
  if (failed(readBias(kFc1Bias, "fc1_experts_bias", fc1Columns, plan.upBiasSources[0])) ||
      failed(readBias(kFc2Bias, "fc2_experts_bias", hidden, plan.downBiasSource)) ||
      (hasFc3 && failed(readBias(kFc3Bias, "fc3_experts_bias", inter, plan.upBiasSources[1]))))
    return failure();
  plan.hasUpBias = node.hasInput(kFc1Bias) || node.hasInput(kFc3Bias);
  plan.hasDownBias = node.hasInput(kFc2Bias);

  // moe's gated layout: the gate's columns, then the up's. ORT interleaves them with the
  // gate first (swiglu_fusion = 1), concatenates them (2), or keeps the up in fc3.
  bool interleaved = swiglu && swigluFusion == 1;
  plan.upColumns.push_back({0, 0, interleaved ? 2 : 1, inter});
  if (gated) {
    if (hasFc3)
      plan.upColumns.push_back({1, 0, 1, inter});
    else if (interleaved)
      plan.upColumns.push_back({0, 1, 2, inter});
    else
      plan.upColumns.push_back({0, inter, 1, inter});
  }

  int64_t k = node.getIntAttr("k", 1);
  if (k < 1 || k > experts) {
    why = ("k = " + Twine(k) + " is not between 1 and the " + Twine(experts) + " experts").str();
    return failure();
  }
  bool normalize = node.getIntAttr("normalize_routing_weights", 0) != 0;
  // onnxruntime takes SparseMixer routing for use_sparse_mixer == 1 exactly.
  int64_t useSparseMixer = node.getIntAttr("use_sparse_mixer", 0);
  if (useSparseMixer != 0 && useSparseMixer != 1) {
    why = ("use_sparse_mixer = " + Twine(useSparseMixer) + " is not 0 or 1").str();
    return failure();
  }
  bool sparseMixer = useSparseMixer == 1;
  if (sparseMixer && k != 2) {
    why = ("use_sparse_mixer (SparseMixer routing) needs k = 2, got k = " + Twine(k)).str();
    return failure();
  }
  // With SparseMixer, onnxruntime's CUDA kernel ignores the normalization and its CPU
  // kernel the SparseMixer: the combination has no one meaning.
  if (sparseMixer && normalize) {
    why = "use_sparse_mixer with normalize_routing_weights = 1";
    return failure();
  }
  plan.routing = moe::RoutingAttr::get(
      context, sparseMixer ? moe::Scoring::sparse_mixer : moe::Scoring::softmax, k, normalize,
      /*topk_first=*/false, /*n_group=*/1, /*topk_group=*/1, APFloat(1.0), APFloat(0.0),
      /*renormalize_epsilon=*/APFloat(0.0));
  return plan;
}

/// moe.layer's operand of `type` made of `columns` of `sources` for `rows` rows: the
/// model's constant itself when it is in moe's layout already (no copy of what may be
/// gigabytes of mapped weights), else a new constant named after the node.
FailureOr<Value> createWeight(PatternRewriter &rewriter, Location loc, const Twine &name,
                              RankedTensorType type, ArrayRef<Projection> sources,
                              ArrayRef<ColumnRun> columns, int64_t rows) {
  if (isInMoELayout(sources, columns) &&
      sources[columns.front().source].constant.getType() == type)
    return sources[columns.front().source].constant;
  return createWeightStack(rewriter, loc, type, name.str(), type.getDimSize(0), rows,
                           [&](int64_t expert) {
                             ExpertColumns parts;
                             for (const ColumnRun &run : columns)
                               parts.push_back(sources[run.source].getColumns(
                                   expert, run.first, run.step, run.count));
                             return parts;
                           });
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
    auto resultType = llvm::dyn_cast<RankedTensorType>(node.getResult(0).getType());
    Value tokens = node.getInputs()[kInput];
    auto tokensType = llvm::cast<RankedTensorType>(tokens.getType());
    if (succeeded(plan) && (!resultType || !tensor::CastOp::areCastCompatible(
                                               resultType, static_cast<Type>(tokensType))))
      whyNot = "its output type does not match its input's";
    if (!whyNot.empty()) {
      remarks.notRaised(node, "not raised: " + whyNot);
      return failure();
    }

    Location loc = node.getLoc();
    StringRef nodeName = node.getName().empty() ? StringRef("ort_moe") : node.getName();
    int64_t upWidth = 0;
    for (const ColumnRun &run : plan->upColumns)
      upWidth += run.count;
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
    if (plan->hasUpBias)
      upBias = weight(createWeight(rewriter, loc, nodeName + ".up_bias",
                                   tensorType({plan->experts, upWidth}), plan->upBiasSources,
                                   plan->upColumns, 1));
    if (plan->hasDownBias)
      downBias = weight(createWeight(rewriter, loc, nodeName + ".down_bias",
                                     tensorType({plan->experts, plan->hidden}),
                                     plan->downBiasSource, downColumns, 1));
    if (sawError)
      return failure();

    // moe.layer takes tokens as rows: [B, S, H] inputs are flattened and restored around it.
    bool batched = tokensType.getRank() == 3;
    SmallVector<ReassociationIndices> batchDims = {{0, 1}, {2}};
    Value rows = tokens;
    if (batched)
      rows = tensor::CollapseShapeOp::create(rewriter, loc, tokens, batchDims);
    Value layer = moe::LayerOp::create(
        rewriter, loc, rows.getType(), rows, up, down, /*router_weight=*/Value(),
        /*router_logits=*/node.getInputs()[kRouterProbs], /*router_bias=*/Value(),
        /*score_bias=*/Value(), upBias, downBias, /*shared_up=*/Value(),
        /*shared_down=*/Value(), /*shared_gate=*/Value(), plan->routing, plan->expert);
    if (batched) {
      SmallVector<OpFoldResult> batchShape = tensor::getMixedSizes(rewriter, loc, tokens);
      layer = tensor::ExpandShapeOp::create(rewriter, loc, tokensType, layer, batchDims,
                                            batchShape);
    }
    if (layer.getType() != resultType)
      layer = tensor::CastOp::create(rewriter, loc, resultType, layer);
    rewriter.replaceOp(node, layer);
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
