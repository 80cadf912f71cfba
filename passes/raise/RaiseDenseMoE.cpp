//===- RaiseDenseMoE.cpp - Dense-masked MoE exports to moe.layer ----------===//
//
// "Export-friendly" MoE code (and GPT-OSS's inference path) runs every expert on every
// token over stacked [E, ...] weights and zeroes the unchosen ones with a dense [T, E]
// routing-weight matrix scattered from the top-k. The result equals moe.layer's, which
// runs only the k chosen experts: raising recovers the sparsity.
//
// The pattern anchors on the combine, the last node of the layer, and walks back: the
// dense weights to the router (RouterMatcher.h), the experts' output through the stacked
// projections and the body between them (ExpertMatcher.h, with stacked projections in
// place of per-expert Linears).
//
//===----------------------------------------------------------------------===//

#include "ExpertMatcher.h"
#include "LayerOperands.h"
#include "ONNXMatch.h"
#include "RaiseDriver.h"
#include "RouterMatcher.h"
#include "WeightStack.h"

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Raise/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace moec {
#define GEN_PASS_DEF_RAISEDENSEMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;

namespace {

//===----------------------------------------------------------------------===//
// Einsum equations
//===----------------------------------------------------------------------===//

/// The input terms and the output term of an Einsum with an explicit output, spaces
/// removed, or nothing.
struct EinsumTerms {
  SmallVector<std::string> inputs;
  std::string output;
};

std::optional<EinsumTerms> parseEinsum(onnx::NodeOp einsum) {
  if (!einsum.hasNodeAttr("equation"))
    return std::nullopt;
  std::string text;
  for (char c : einsum.getStringAttr("equation", ""))
    if (c != ' ')
      text.push_back(c);
  size_t arrow = text.find("->");
  if (arrow == std::string::npos || text.find('.') != std::string::npos)
    return std::nullopt;
  EinsumTerms terms;
  terms.output = text.substr(arrow + 2);
  SmallVector<StringRef> inputs;
  StringRef(text).take_front(arrow).split(inputs, ',');
  for (StringRef term : inputs)
    terms.inputs.push_back(term.str());
  return terms;
}

/// Whether the labels of `term` are `labels`, given as positions into `names`: e.g.
/// hasLabels("eth", "the", {2, 0, 1}).
bool hasLabels(StringRef term, StringRef names, ArrayRef<unsigned> labels) {
  if (term.size() != labels.size())
    return false;
  for (auto [label, index] : llvm::zip(term, labels))
    if (label != names[index])
      return false;
  return true;
}

/// Whether `names` are distinct labels.
bool areDistinct(StringRef names) {
  return llvm::all_of(names, [&](char c) { return llvm::count(names, c) == 1; });
}

//===----------------------------------------------------------------------===//
// The combine
//===----------------------------------------------------------------------===//

/// `y[t, h] = sum_e dense[t, e] * expertOutputs[e, t, h]`.
struct DenseCombine {
  Value denseWeights;
  Value expertOutputs;
};

/// Einsum `te,eth->th` (either operand order, any label letters).
std::optional<DenseCombine> matchEinsumCombine(onnx::NodeOp einsum) {
  std::optional<EinsumTerms> terms = parseEinsum(einsum);
  if (!terms || terms->inputs.size() != 2 || terms->output.size() != 2)
    return std::nullopt;
  unsigned denseIndex = terms->inputs[0].size() == 2 ? 0 : 1;
  StringRef dense = terms->inputs[denseIndex], experts = terms->inputs[1 - denseIndex];
  std::string names = {terms->output[0], dense.size() == 2 ? dense[1] : '\0',
                       terms->output[1]}; // t, e, h
  if (!areDistinct(names) || !hasLabels(dense, names, {0, 1}) ||
      !hasLabels(experts, names, {1, 0, 2}))
    return std::nullopt;
  return DenseCombine{einsum.getInputs()[denseIndex], einsum.getInputs()[1 - denseIndex]};
}

/// ReduceSum over axis 0 (keepdims 0) of `expertOutputs * Unsqueeze(Transpose(dense), -1)`.
std::optional<DenseCombine> matchReduceSumCombine(onnx::NodeOp reduce) {
  std::optional<SmallVector<int64_t>> axes =
      reduce.hasInput(1) ? getIntConstant(reduce.getInputs()[1]) : std::nullopt;
  if (!axes || *axes != SmallVector<int64_t>{0} || reduce.getIntAttr("keepdims", 1) != 0)
    return std::nullopt;
  onnx::NodeOp mul = getDefiningNode(reduce.getInputs()[0], "Mul");
  Value dense;
  std::optional<unsigned> maskIndex = matchEitherInput(mul, [&](Value operand) {
    onnx::NodeOp unsqueeze = getDefiningNode(operand, "Unsqueeze");
    if (!unsqueeze || !unsqueeze.hasInput(1))
      return false;
    std::optional<SmallVector<int64_t>> unsqueezed = getIntConstant(unsqueeze.getInputs()[1]);
    if (!unsqueezed || unsqueezed->size() != 1 || ((*unsqueezed)[0] != 2 && (*unsqueezed)[0] != -1))
      return false;
    onnx::NodeOp transpose = getDefiningNode(unsqueeze.getInputs()[0], "Transpose");
    if (!transpose || transpose.getIntsAttr("perm") != SmallVector<int64_t>{1, 0})
      return false;
    dense = transpose.getInputs()[0];
    return true;
  });
  if (!maskIndex)
    return std::nullopt;
  return DenseCombine{dense, mul.getInputs()[1 - *maskIndex]};
}

std::optional<DenseCombine> matchDenseCombine(onnx::NodeOp node) {
  if (!node.getDomain().empty() || node->getNumResults() != 1)
    return std::nullopt;
  std::optional<DenseCombine> combine;
  if (node.getOpType() == "Einsum")
    combine = matchEinsumCombine(node);
  else if (node.getOpType() == "ReduceSum")
    combine = matchReduceSumCombine(node);
  if (!combine)
    return std::nullopt;
  auto denseType = llvm::dyn_cast<RankedTensorType>(combine->denseWeights.getType());
  auto expertsType = llvm::dyn_cast<RankedTensorType>(combine->expertOutputs.getType());
  if (!denseType || denseType.getRank() != 2 || !expertsType || expertsType.getRank() != 3)
    return std::nullopt;
  return combine;
}

/// The first node, breadth first among the few float-valued nodes above `value`, for which
/// `found` holds, or null: what makes an unraised subgraph MoE-shaped lies within an
/// expert's body of its combine.
onnx::NodeOp findAbove(Value value, function_ref<bool(onnx::NodeOp)> found) {
  constexpr unsigned kExpertBodyNodes = 24;
  SmallVector<Value> queue = {value};
  llvm::SmallPtrSet<Operation *, 32> seen;
  for (size_t next = 0; next < queue.size() && seen.size() < kExpertBodyNodes; ++next) {
    auto node = queue[next].getDefiningOp<onnx::NodeOp>();
    if (!node || !llvm::isa<FloatType>(getElementTypeOrSelf(queue[next].getType())) ||
        !seen.insert(node).second)
      continue;
    if (found(node))
      return node;
    llvm::append_range(queue, node.getInputs());
  }
  return {};
}

/// Whether `value` is, through views, casts and a Sigmoid, values scattered at a TopK's
/// indices: routing scores.
bool isScatteredTopK(Value value) {
  onnx::NodeOp node = value.getDefiningOp<onnx::NodeOp>();
  while (node && llvm::is_contained({"Reshape", "Transpose", "Unsqueeze", "Cast", "Sigmoid"},
                                    node.getOpType()))
    node = node.getInputs()[0].getDefiningOp<onnx::NodeOp>();
  if (!node || node.getOpType() != "ScatterElements")
    return false;
  onnx::NodeOp topk = getDefiningNode(node.getInputs()[1], "TopK");
  return topk && topk->getResult(1) == node.getInputs()[1];
}

/// Llama 4's combine: `reduce` sums `[E, T, H]` expert outputs over the experts unweighted,
/// the experts' input being the tokens times their routing scores. The Mul that scales the
/// input (found within a few nodes above the sum), or null.
onnx::NodeOp findScaledExpertInput(onnx::NodeOp reduce) {
  std::optional<SmallVector<int64_t>> axes =
      reduce.hasInput(1) ? getIntConstant(reduce.getInputs()[1]) : std::nullopt;
  auto type = llvm::dyn_cast<RankedTensorType>(reduce.getInputs()[0].getType());
  if (reduce.getOpType() != "ReduceSum" || !axes || *axes != SmallVector<int64_t>{0} ||
      reduce.getIntAttr("keepdims", 1) != 0 || !type || type.getRank() != 3)
    return {};
  return findAbove(reduce.getInputs()[0], [](onnx::NodeOp node) {
    return node.getOpType() == "Mul" && llvm::any_of(node.getInputs(), isScatteredTopK);
  });
}

//===----------------------------------------------------------------------===//
// The scattered top-k mask
//===----------------------------------------------------------------------===//

/// Whether `value` is `ConstantOfShape(Shape(_))` of zeros.
bool isZerosLikeScores(Value value) {
  onnx::NodeOp zeros = getDefiningNode(value, "ConstantOfShape");
  if (!zeros || !getDefiningNode(zeros.getInputs()[0], "Shape"))
    return false;
  ElementsAttr fill = zeros.getTensorAttr("value");
  if (!fill)
    return true; // ONNX's default fill is 0.
  if (fill.getNumElements() != 1 || !llvm::isa<FloatType>(fill.getElementType()))
    return false;
  if (auto dense = llvm::dyn_cast<DenseFPElementsAttr>(fill))
    return dense.getSplatValue<APFloat>().isZero();
  auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(fill);
  AsmResourceBlob *blob = resource ? resource.getRawHandle().getBlob() : nullptr;
  return blob && llvm::all_of(blob->getData(), [](char byte) { return byte == 0; });
}

/// The `ScatterElements` that writes values into zeros at a `TopK`'s indices, the dense
/// routing weights of a candidate layer, or null.
onnx::NodeOp getTopKScatter(Value dense) {
  onnx::NodeOp scatter = getDefiningNode(dense, "ScatterElements");
  if (!scatter || !isZerosLikeScores(scatter.getInputs()[0]))
    return {};
  onnx::NodeOp topk = getDefiningNode(scatter.getInputs()[1], "TopK");
  if (!topk || topk->getResult(1) != scatter.getInputs()[1])
    return {};
  return scatter;
}

/// Whether `scatter` writes its values along the experts (axis 1), as
/// `zeros([T, E]).scatter(1, indices, weights)` does.
LogicalResult checkScatterAlongExperts(onnx::NodeOp scatter, Reason &reason) {
  int64_t axis = scatter.getIntAttr("axis", 0);
  if (axis != 1 && axis != -1)
    return reason = describe(scatter) + " scatters along axis " + std::to_string(axis) +
                    ", not along the experts",
           failure();
  if (StringRef reduction = scatter.getStringAttr("reduction", "none"); reduction != "none")
    return reason = describe(scatter) + " accumulates (reduction '" + reduction.str() +
                    "') instead of writing the weights",
           failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Stacked projections
//===----------------------------------------------------------------------===//

/// Whether `value` is a float constant of rank 3, stacked weights [E, K, N].
bool isStackedWeight(Value value) {
  auto constant = value ? value.getDefiningOp<onnx::ConstantOp>() : onnx::ConstantOp();
  auto type = constant ? llvm::dyn_cast<RankedTensorType>(constant.getType()) : nullptr;
  return type && type.getRank() == 3 && type.hasStaticShape() &&
         llvm::isa<FloatType>(type.getElementType());
}

/// The rows `[E * T, K]` that `operand` views as `[E, T, K]` (`view(E, -1, K)`), or null.
Value matchRowsPerExpert(Value operand, int64_t experts) {
  onnx::NodeOp reshape = getDefiningNode(operand, "Reshape");
  auto type =
      reshape ? llvm::dyn_cast<RankedTensorType>(reshape.getInputs()[0].getType()) : nullptr;
  if (!type || type.getRank() != 2 || type.isDynamicDim(1) ||
      !hasIntsInput(reshape, 1, {experts, -1, type.getDimSize(1)}))
    return {};
  return reshape.getInputs()[0];
}

/// The tokens `x` [T, K] of `x.repeat(E, 1)` (Tile, through an Expand by ones), or null.
Value matchRepeatedTokens(Value repeated, int64_t experts) {
  onnx::NodeOp tile = getDefiningNode(repeated, "Tile");
  if (!tile || getIntConstant(tile.getInputs()[1]) != SmallVector<int64_t>{experts, 1})
    return {};
  Value tokens = tile.getInputs()[0];
  // torch's repeat first expands its input to the repeat's rank with ones.
  if (onnx::NodeOp expand = getDefiningNode(tokens, "Expand"))
    if (expand.getInputs()[0].getType() == tokens.getType())
      tokens = expand.getInputs()[0];
  return tokens.getType() == repeated.getType() ? tokens : Value();
}

/// The tokens `x` [T, K] that `operand` feeds to every expert: `Unsqueeze(x, 0)`, or x
/// repeated E times (`x.repeat(E, 1).view(E, -1, K)`); or nothing.
Value matchTokensForEveryExpert(Value operand, int64_t experts) {
  if (onnx::NodeOp unsqueeze = getDefiningNode(operand, "Unsqueeze")) {
    std::optional<SmallVector<int64_t>> axes =
        unsqueeze.hasInput(1) ? getIntConstant(unsqueeze.getInputs()[1]) : std::nullopt;
    return axes && *axes == SmallVector<int64_t>{0} ? unsqueeze.getInputs()[0] : Value();
  }
  Value rows = matchRowsPerExpert(operand, experts);
  return rows ? matchRepeatedTokens(rows, experts) : Value();
}

/// Tokens that every expert gets times its dense routing weight (Llama 4).
struct WeighedTokens {
  /// `[T, K]`.
  Value tokens;
  /// `[T, E]`, the weight of every token for every expert.
  Value denseWeights;
};

/// Matches Llama 4's experts' input, `(x.repeat(E, 1) * dense.transpose(0, 1).reshape(-1,
/// 1)).view(E, -1, K)`: row `e * T + t` of the repeated tokens is token t, scaled by
/// `dense[t, e]`.
std::optional<WeighedTokens> matchWeighedTokens(Value operand, int64_t experts) {
  Value rows = matchRowsPerExpert(operand, experts);
  onnx::NodeOp mul = rows ? getDefiningNode(rows, "Mul") : nullptr;
  std::optional<unsigned> tokensIndex = matchEitherInput(mul, [&](Value value) {
    return value.getType() == rows.getType() && matchRepeatedTokens(value, experts);
  });
  if (!tokensIndex)
    return std::nullopt;
  onnx::NodeOp column = getDefiningNode(mul.getInputs()[1 - *tokensIndex], "Reshape");
  onnx::NodeOp transpose = column ? getDefiningNode(column.getInputs()[0], "Transpose") : nullptr;
  if (!transpose || !hasIntsInput(column, 1, {-1, 1}) ||
      transpose.getIntsAttr("perm") != SmallVector<int64_t>{1, 0})
    return std::nullopt;
  return WeighedTokens{matchRepeatedTokens(mul.getInputs()[*tokensIndex], experts),
                       transpose.getInputs()[0]};
}

/// A projection of every expert at once over stacked weights `[E, K, N]`:
/// `Einsum(th,ehn->etn)` / `Einsum(etk,ekn->etn)`, or `MatMul` of the tokens given to every
/// expert (`matchTokensForEveryExpert`) or of `[E, T, K]` activations; optionally plus a
/// bias `[E, 1, N]`. The result is a `Linear` whose weight (and bias) are the stacks.
FailureOr<Linear> matchStackedLinear(Value output, Reason &reason) {
  Linear linear;
  Value product = output;
  if (onnx::NodeOp add = getDefiningNode(output, "Add")) {
    std::optional<unsigned> biasIndex = matchEitherInput(add, isStackedWeight);
    if (!biasIndex)
      return reason = describe(add) + " is not a stacked projection's bias add", failure();
    linear.bias = add.getInputs()[*biasIndex];
    product = add.getInputs()[1 - *biasIndex];
  }
  if (onnx::NodeOp einsum = getDefiningNode(product, "Einsum")) {
    std::optional<EinsumTerms> terms = parseEinsum(einsum);
    // Labels e, t, k, n: input "tk" or "etk", weight "ekn", output "etn".
    bool matches = terms && terms->inputs.size() == 2 && terms->output.size() == 3 &&
                   terms->inputs[1].size() == 3;
    if (matches) {
      StringRef input = terms->inputs[0], weight = terms->inputs[1];
      std::string names = {terms->output[0], terms->output[1], weight[1], terms->output[2]};
      matches = areDistinct(names) && hasLabels(weight, names, {0, 2, 3}) &&
                (hasLabels(input, names, {1, 2}) || hasLabels(input, names, {0, 1, 2}));
    }
    if (!matches || !isStackedWeight(einsum.getInputs()[1]))
      return reason = describe(einsum) +
                      " is not a projection over stacked weights ('tk,ekn->etn' or "
                      "'etk,ekn->etn' with constant [E, K, N] weights)",
             failure();
    linear.input = einsum.getInputs()[0];
    linear.weight = einsum.getInputs()[1];
  } else if (onnx::NodeOp matmul = getDefiningNode(product, "MatMul")) {
    linear.weight = matmul.getInputs()[1];
    if (!isStackedWeight(linear.weight))
      return reason = describe(matmul) + " has no constant stacked [E, K, N] weight", failure();
    int64_t experts = llvm::cast<RankedTensorType>(linear.weight.getType()).getDimSize(0);
    linear.input = matchTokensForEveryExpert(matmul.getInputs()[0], experts);
    if (!linear.input)
      linear.input = matmul.getInputs()[0];
  } else {
    Operation *op = product.getDefiningOp();
    return reason = (op ? describe(op) : std::string("a block argument")) +
                    " where a projection over stacked weights (Einsum or MatMul) was expected",
           failure();
  }
  linear.stacked = true;
  auto weightType = llvm::cast<RankedTensorType>(linear.weight.getType());
  if (linear.bias) {
    auto biasType = llvm::cast<RankedTensorType>(linear.bias.getType());
    if (biasType.getShape() !=
        ArrayRef<int64_t>{weightType.getDimSize(0), 1, weightType.getDimSize(2)})
      return reason = describe(linear.bias.getDefiningOp()) +
                      " is added to a stacked projection but is not an [E, 1, N] bias",
             failure();
  }
  return linear;
}

/// Llama 4's layer, anchored on `reduce`, its combine: the unweighted sum over the experts
/// of `[E, T, H]` outputs of experts whose input is the tokens times their dense routing
/// weights (moe.layer with `weigh_inputs`). The experts not chosen get inputs of 0, and
/// without biases output 0: the sparse layer computes the same.
FailureOr<StackedLayer> matchInputWeightedLayer(onnx::NodeOp reduce, Reason &reason) {
  FailureOr<ExpertBody> body =
      matchExpertBody(Value(), reduce.getInputs()[0], reason, matchStackedLinear);
  if (failed(body))
    return failure();
  std::optional<WeighedTokens> weighed =
      matchWeighedTokens(body->up.input, body->up.getNumExperts());
  if (!weighed || (body->gate && body->gate->input != body->up.input))
    return reason = "the experts' input is not the tokens repeated for every expert times "
                    "their routing weights",
           failure();
  if (body->up.bias || body->down.bias || (body->gate && body->gate->bias))
    return reason = "its experts have biases: those not chosen, weighed by 0, would not "
                    "output 0",
           failure();
  onnx::NodeOp sigmoid = getDefiningNode(weighed->denseWeights, "Sigmoid");
  onnx::NodeOp scatter =
      sigmoid ? getDefiningNode(sigmoid.getInputs()[0], "ScatterElements") : nullptr;
  onnx::NodeOp topK = scatter ? getDefiningNode(scatter.getInputs()[1], "TopK") : nullptr;
  if (!topK)
    return reason = "the experts' inputs are not weighed by the Sigmoid of values scattered "
                    "at a TopK's indices",
           failure();
  if (!isFilledLike(scatter.getInputs()[0], topK.getInputs()[0],
                    -std::numeric_limits<double>::infinity()))
    return reason = describe(scatter) + " does not scatter into -inf: the experts not " +
                    "chosen would not be weighed by 0",
           failure();
  FailureOr<Routing> routing = matchRouting(topK, reason);
  if (failed(routing))
    return failure();
  if (routing->weights != weighed->denseWeights)
    return reason = "the experts' inputs are not weighed by the router's weights", failure();
  if (routing->router.input != weighed->tokens)
    return reason = "the experts' inputs are not the router's tokens", failure();
  FailureOr<StackedLayer> layer =
      makeStackedLayer(reduce.getResult(0), *routing, *body, reason);
  if (succeeded(layer))
    layer->weighInputs = true;
  return layer;
}

//===----------------------------------------------------------------------===//
// moe.layer's operands
//===----------------------------------------------------------------------===//

/// A stacked `[E, R, N]` constant of a gated expert (its up weight or bias) in moe.layer's
/// column order, gate first: de-interleaved from `up` alone, or `gate` and `up` (each
/// `[E, R, N / 2]`) side by side.
FailureOr<Value> buildGateFirstStack(PatternRewriter &rewriter, const ExpertBody &body, Value up,
                                     Value gate) {
  ConstantBytes upBytes = *getConstantBytes(up);
  std::optional<ConstantBytes> gateBytes = gate ? getConstantBytes(gate) : std::nullopt;
  int64_t experts = upBytes.type.getDimSize(0), rows = upBytes.type.getDimSize(1);
  int64_t inner = body.getInnerSize();
  auto type = RankedTensorType::get({experts, rows, 2 * inner}, upBytes.type.getElementType());
  return createWeightStack(
      rewriter, up.getLoc(), type, (getConstantName(up) + ".gate_first").str(), experts, rows,
      [&](int64_t expert) -> ExpertColumns {
        if (body.interleaved) {
          // Even columns are the gate's, odd the up's.
          int64_t offset = expert * rows * 2 * inner;
          return {SourceColumns::ofMatrix(upBytes, offset, rows, 2 * inner, false, 0, 2),
                  SourceColumns::ofMatrix(upBytes, offset, rows, 2 * inner, false, 1, 2)};
        }
        int64_t offset = expert * rows * inner;
        return {SourceColumns::ofMatrix(*gateBytes, offset, rows, inner, false),
                SourceColumns::ofMatrix(upBytes, offset, rows, inner, false)};
      });
}

/// The stacked up weight `[E, H, N]`.
FailureOr<Value> buildUpWeight(PatternRewriter &rewriter, const ExpertBody &body) {
  if (!body.gate && !body.interleaved)
    return body.up.weight;
  return buildGateFirstStack(rewriter, body, body.up.weight,
                             body.gate ? body.gate->weight : Value());
}

/// A stacked `[E, 1, N]` bias as moe.layer takes it, `[E, N]`.
Value dropBiasRow(PatternRewriter &rewriter, Value bias) {
  auto type = llvm::cast<RankedTensorType>(bias.getType());
  return retypeConstant(
      rewriter, bias,
      RankedTensorType::get({type.getDimSize(0), type.getDimSize(2)}, type.getElementType()));
}

/// The stacked up bias `[E, N]`, or null.
FailureOr<Value> buildUpBias(PatternRewriter &rewriter, const ExpertBody &body) {
  if (!body.up.bias)
    return Value();
  if (!body.gate && !body.interleaved)
    return dropBiasRow(rewriter, body.up.bias);
  FailureOr<Value> gateFirst =
      buildGateFirstStack(rewriter, body, body.up.bias, body.gate ? body.gate->bias : Value());
  if (failed(gateFirst))
    return failure();
  return dropBiasRow(rewriter, *gateFirst);
}

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

/// Raises one dense-masked layer, anchored on its combine. A layer whose weights cannot be
/// rearranged (written to a temporary file) is an error and sets `sawError`, which fails the
/// pass.
struct RaiseDenseCombine : RaisePattern {
  using RaisePattern::RaisePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    std::optional<DenseCombine> combine = matchDenseCombine(node);
    if (!combine) {
      if (findScaledExpertInput(node)) {
        Reason reason;
        FailureOr<StackedLayer> layer = matchInputWeightedLayer(node, reason);
        if (succeeded(layer))
          return replaceWithStackedLayer(rewriter, node, *layer, remarks, sawError);
        remarks.notRaised(node, describe(node) + " not raised to moe.layer: " + reason);
      }
      return failure();
    }
    onnx::NodeOp scatter = getTopKScatter(combine->denseWeights);
    if (!scatter)
      return failure();
    Reason reason;
    FailureOr<moe::LayerOp> layer = raise(node, *combine, scatter, rewriter, reason);
    if (failed(layer)) {
      remarks.notRaised(node, describe(node) + " not raised to moe.layer: " + reason);
      return failure();
    }
    rewriter.replaceOp(node, castLayerResult(rewriter, layer->getResult(),
                                             node->getResult(0).getType()));
    return success();
  }

private:
  /// The moe.layer that computes what `combine` does, with `scatter` its dense weights.
  FailureOr<moe::LayerOp> raise(onnx::NodeOp node, const DenseCombine &combine,
                                onnx::NodeOp scatter, PatternRewriter &rewriter,
                                Reason &reason) const;
};

FailureOr<moe::LayerOp> RaiseDenseCombine::raise(onnx::NodeOp node, const DenseCombine &combine,
                                                 onnx::NodeOp scatter, PatternRewriter &rewriter,
                                                 Reason &reason) const {
  if (failed(checkScatterAlongExperts(scatter, reason)))
    return failure();
  FailureOr<Routing> routing =
      matchRouting(scatter.getInputs()[1].getDefiningOp<onnx::NodeOp>(), reason);
  if (failed(routing))
    return failure();
  if (routing->weights != scatter.getInputs()[2])
    return reason = "the scattered weights are not the router's top-k weights", failure();
  Value tokens = routing->router.input;
  auto tokensType = llvm::dyn_cast<RankedTensorType>(tokens.getType());
  if (!tokensType || tokensType.getRank() != 2)
    return reason = "the router does not read [T, H] tokens", failure();
  FailureOr<ExpertBody> body =
      matchExpertBody(tokens, combine.expertOutputs, reason, matchStackedLinear);
  if (failed(body))
    return failure();
  int64_t experts = routing->getNumExperts();
  if (body->up.getNumExperts() != experts || body->down.getNumExperts() != experts ||
      (body->gate && body->gate->getNumExperts() != experts))
    return reason = "the router chooses among " + std::to_string(experts) +
                    " experts but the stacked weights hold " +
                    std::to_string(body->down.getNumExperts()),
           failure();
  if (body->gate && bool(body->gate->bias) != bool(body->up.bias))
    return reason = "only one of the gate and up projections has a bias", failure();
  if (Value scoreBias = routing->scoreBias) {
    auto biasType = llvm::dyn_cast<RankedTensorType>(scoreBias.getType());
    if (!biasType || biasType.getShape() != ArrayRef<int64_t>{experts} ||
        biasType.getElementType() != tokensType.getElementType())
      return reason = "the score-correction bias is not one value per expert of the tokens' "
                      "element type",
             failure();
  }

  if (!tensor::CastOp::areCastCompatible(node->getResult(0).getType(), tokensType))
    return reason = "its result type differs from the tokens'", failure();

  rewriter.setInsertionPoint(node);
  Value downBias = body->down.bias ? dropBiasRow(rewriter, body->down.bias) : Value();
  FailureOr<Value> upWeight = buildUpWeight(rewriter, *body);
  FailureOr<Value> routerWeight = buildRouterWeight(rewriter, routing->router);
  FailureOr<Value> upBias = buildUpBias(rewriter, *body);
  if (failed(upWeight) || failed(routerWeight) || failed(upBias)) {
    // The error is reported; the pass fails.
    sawError = true;
    return reason = "its weights could not be rearranged", failure();
  }
  return moe::LayerOp::create(
      rewriter, node.getLoc(), tokensType, tokens, *upWeight,
      body->down.weight, *routerWeight, /*router_logits=*/Value(), routing->router.bias,
      routing->scoreBias, *upBias, downBias,
      /*shared_up=*/Value(), /*shared_down=*/Value(),
      /*shared_gate=*/Value(), routing->getAttr(rewriter.getContext()),
      body->getAttr(rewriter.getContext()));
}

struct RaiseDenseMoEPass : moec::impl::RaiseDenseMoEBase<RaiseDenseMoEPass> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseDenseCombine>(getOperation())))
      signalPassFailure();
  }
};

} // namespace
