//===- SimplifyGraph.cpp - One normal form of the onnx level for raising --===//
//
// Exporters spell one computation many ways: TorchScript computes `x.shape[-1] // 2` with
// Shape, Gather, Add, Div and Mul where dynamo writes a constant; it views a tensor twice in
// a row, casts f32 to f32, unsqueezes and squeezes the same axis back. Raising matches
// what a subgraph computes, so it runs on the graph with those differences folded away.
//
// Integer nodes whose every element the type rules know (TypeInference.h) become constants:
// the rules are the one place that knows how each op computes a shape. No-op casts,
// identities, reshapes to the same shape and reshapes of reshapes are bypassed, and a node
// that repeats an earlier one (same op, attributes and inputs: names aside) is replaced by
// it. What is left unused is erased.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "TypeInference.h"
#include "moec/Dialect/ONNX/ConstantValues.h"
#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_SIMPLIFYGRAPH
#include "passes/onnx/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

bool isDefaultDomainNode(onnx::NodeOp node, ArrayRef<StringRef> opTypes) {
  return (node.getDomain().empty() || node.getDomain() == "ai.onnx") &&
         llvm::is_contained(opTypes, node.getOpType());
}

/// Ops that only give their input another shape.
constexpr StringRef kReshapingOps[] = {"Reshape", "Squeeze", "Unsqueeze", "Flatten"};

/// Whether a tensor of `type` reshaped to a tensor of `type` keeps its shape: the element
/// count is kept, so a ranked type with at most one dynamic dim (and no empty one) fixes it.
bool fixesItsShape(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked)
    return false;
  return llvm::count_if(ranked.getShape(), ShapedType::isDynamic) <= 1 &&
         !llvm::is_contained(ranked.getShape(), 0);
}

/// An integer node whose result the type rules know element by element becomes a constant.
struct FoldKnownIntegers : OpRewritePattern<onnx::NodeOp> {
  FoldKnownIntegers(MLIRContext *context, const TypeRules &rules)
      : OpRewritePattern(context), rules(rules) {}

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    if (node->getNumResults() != 1 || node->getNumRegions() != 0)
      return failure();
    auto type = dyn_cast<RankedTensorType>(node->getResult(0).getType());
    if (!type || !type.hasStaticShape() || !isa<IntegerType>(type.getElementType()) ||
        type.getNumElements() > kMaxTrackedElements)
      return failure();
    auto rule = rules.find(getRuleKey(node.getDomain(), node.getOpType()));
    if (rule == rules.end())
      return failure();
    DenseMap<Value, IntContents> inputContents;
    for (Value input : node.getInputs())
      if (std::optional<IntContents> known = getKnownContents(input, kMaxDepth))
        inputContents[input] = std::move(*known);
    NodeInference inference(node, inputContents);
    rule->second(inference);
    const std::optional<IntContents> &known = inference.getResultContents()[0];
    if (!known || int64_t(known->size()) != type.getNumElements() ||
        !llvm::all_of(*known, [](std::optional<int64_t> element) { return element.has_value(); }))
      return failure();
    unsigned width = type.getElementTypeBitWidth();
    SmallVector<APInt> elements = llvm::map_to_vector(*known, [&](std::optional<int64_t> element) {
      return APInt(width, uint64_t(*element), /*isSigned=*/width > 1, /*implicitTrunc=*/true);
    });
    rewriter.replaceOpWithNewOp<onnx::ConstantOp>(node, type, node.getName(),
                                                  DenseIntElementsAttr::get(type, elements));
    return success();
  }

private:
  /// How far back getKnownContents looks through nodes not folded yet (a shape computation
  /// is a few nodes deep; its inputs fold first when the driver visits them).
  static constexpr unsigned kMaxDepth = 6;

  /// What the rules know of the contents of a small integer `value`: a constant's values, or
  /// what its node's rule concludes from its inputs' contents.
  std::optional<IntContents> getKnownContents(Value value, unsigned depth) const {
    if (auto constant = value.getDefiningOp<onnx::ConstantOp>()) {
      std::optional<SmallVector<int64_t>> values =
          onnx::getIntValues(constant.getValue(), kMaxTrackedElements);
      if (!values)
        return std::nullopt;
      return IntContents(values->begin(), values->end());
    }
    auto node = value.getDefiningOp<onnx::NodeOp>();
    if (!node || depth == 0 || node->getNumRegions() != 0)
      return std::nullopt;
    auto rule = rules.find(getRuleKey(node.getDomain(), node.getOpType()));
    if (rule == rules.end())
      return std::nullopt;
    DenseMap<Value, IntContents> inputContents;
    for (Value input : node.getInputs())
      if (std::optional<IntContents> known = getKnownContents(input, depth - 1))
        inputContents[input] = std::move(*known);
    NodeInference inference(node, inputContents);
    rule->second(inference);
    return inference.getResultContents()[cast<OpResult>(value).getResultNumber()];
  }

  const TypeRules &rules;
};

/// Identity, a Cast to the input's own type, a reshape to the input's own shape and an
/// Expand of a static tensor to its own shape give their input back.
struct BypassNoOpNode : OpRewritePattern<onnx::NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    if (node->getNumResults() != 1 || node.getInputs().empty())
      return failure();
    Value input = node.getInputs()[0];
    Type type = node->getResult(0).getType();
    if (input.getType() != type)
      return failure();
    bool noOp = isDefaultDomainNode(node, {"Identity", "Cast", "CastLike"}) ||
                (isDefaultDomainNode(node, kReshapingOps) && fixesItsShape(type)) ||
                (isDefaultDomainNode(node, {"Expand"}) &&
                 cast<RankedTensorType>(type).hasStaticShape());
    if (!noOp)
      return failure();
    rewriter.replaceOp(node, input);
    return success();
  }
};

/// A reshape of a reshape reads the first one's input: `Reshape(Reshape(x, a), b)` is
/// `Reshape(x, b)` (when `b` copies no dim), and a chain that gives `x` its own shape back is
/// `x`.
struct CollapseReshapeChain : OpRewritePattern<onnx::NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    if (!isDefaultDomainNode(node, kReshapingOps) || node.getInputs().empty())
      return failure();
    auto inner = node.getInputs()[0].getDefiningOp<onnx::NodeOp>();
    if (!inner || !isDefaultDomainNode(inner, kReshapingOps) || inner.getInputs().empty())
      return failure();
    Value source = inner.getInputs()[0];
    if (source.getType() == node->getResult(0).getType() && fixesItsShape(source.getType())) {
      rewriter.replaceOp(node, source);
      return success();
    }
    if (node.getOpType() != "Reshape" || !node.hasInput(1))
      return failure();
    // A 0 in the target copies the input's dim (unless allowzero): only without one is the
    // target independent of which tensor is reshaped.
    std::optional<SmallVector<int64_t>> target;
    if (auto constant = node.getInputs()[1].getDefiningOp<onnx::ConstantOp>())
      target = onnx::getIntValues(constant.getValue(), kMaxTrackedElements);
    bool copiesNoDim = node.getIntAttr("allowzero", 0) == 1 ||
                       (target && !llvm::is_contained(*target, 0));
    if (!copiesNoDim)
      return failure();
    rewriter.modifyOpInPlace(node, [&] { node->setOperand(0, source); });
    return success();
  }
};

/// A node that computes what an earlier node of its block computes (same op type, domain,
/// attributes, inputs and result types; names aside, equal small constants alike) is
/// replaced by that node.
struct MergeRepeatedNode : OpRewritePattern<onnx::NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    if (node.getInputs().empty() || node->getNumRegions() != 0)
      return failure();
    for (Operation *user : node.getInputs()[0].getUsers()) {
      auto other = dyn_cast<onnx::NodeOp>(user);
      if (!other || other == node || other->getBlock() != node->getBlock() ||
          !other->isBeforeInBlock(node) || !isSameComputation(node, other))
        continue;
      rewriter.replaceOp(node, other->getResults());
      return success();
    }
    return failure();
  }

private:
  /// The same value, or small integer constants of one type and the same elements (each
  /// Constant node of a model is its own constant).
  static bool isSameInput(Value a, Value b) {
    if (a == b)
      return true;
    auto constantA = a.getDefiningOp<onnx::ConstantOp>();
    auto constantB = b.getDefiningOp<onnx::ConstantOp>();
    if (!constantA || !constantB || a.getType() != b.getType())
      return false;
    std::optional<SmallVector<int64_t>> valuesA =
        onnx::getIntValues(constantA.getValue(), kMaxTrackedElements);
    return valuesA && valuesA == onnx::getIntValues(constantB.getValue(), kMaxTrackedElements);
  }

  static bool isSameComputation(onnx::NodeOp node, onnx::NodeOp other) {
    return other.getOpType() == node.getOpType() && other.getDomain() == node.getDomain() &&
           other.getNodeAttrs() == node.getNodeAttrs() && other->getNumRegions() == 0 &&
           llvm::equal(other.getInputs(), node.getInputs(), isSameInput) &&
           llvm::equal(other->getResultTypes(), node->getResultTypes());
  }
};

class SimplifyGraphPass : public moec::impl::SimplifyGraphBase<SimplifyGraphPass> {
public:
  void runOnOperation() override {
    TypeRules rules = getTypeRules();
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldKnownIntegers>(&getContext(), rules);
    patterns.add<BypassNoOpNode, CollapseReshapeChain, MergeRepeatedNode>(&getContext());
    GreedyRewriteConfig config;
    config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
    // Not converging within the driver's iterations leaves a correct, less simplified graph.
    (void)applyPatternsGreedily(getOperation(), std::move(patterns), config);
  }
};

} // namespace
