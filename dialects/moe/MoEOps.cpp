//===- MoEOps.cpp - Verifiers and canonicalizations of moe ops ------------===//

#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace moec::moe;

//===----------------------------------------------------------------------===//
// Custom assembly: attributes written without their `#moe.<mnemonic>` prefix, since the
// keyword before them already says what they are (`routing <...>`, `expert <...>`).
//===----------------------------------------------------------------------===//

template <typename AttrT> static ParseResult parseBareAttr(OpAsmParser &parser, AttrT &attr) {
  Attribute parsed = AttrT::parse(parser, Type());
  if (!parsed)
    return failure();
  attr = llvm::cast<AttrT>(parsed);
  return success();
}

template <typename AttrT>
static void printBareAttr(OpAsmPrinter &printer, Operation *, AttrT attr) {
  attr.print(printer);
}

#define GET_OP_CLASSES
#include "dialects/moe/MoEOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shape checking
//===----------------------------------------------------------------------===//

namespace {
/// Checks the static dimensions of one operand or result against what the op's other
/// operands imply; dynamic dimensions on either side always agree.
class ShapeChecker {
public:
  explicit ShapeChecker(Operation *op) : op(op) {}

  /// Requires dimension `dim` of `value`'s type (named `what`) to equal `expected`, which
  /// `because` explains (e.g. "the number of experts").
  LogicalResult dim(Value value, StringRef what, unsigned dim, int64_t expected,
                    StringRef because) {
    int64_t actual = llvm::cast<ShapedType>(value.getType()).getDimSize(dim);
    if (ShapedType::isDynamic(actual) || ShapedType::isDynamic(expected) || actual == expected)
      return success();
    return op->emitOpError() << what << " dimension " << dim << " is " << actual << " but must be "
                             << expected << " (" << because << ")";
  }

  /// Requires `value`'s element type to be `expected`.
  LogicalResult elementType(Value value, StringRef what, Type expected, StringRef because) {
    Type actual = getElementTypeOrSelf(value.getType());
    if (actual == expected)
      return success();
    return op->emitOpError() << what << " has element type " << actual << " but must have "
                             << expected << " (" << because << ")";
  }

private:
  Operation *op;
};

int64_t dimOf(Value value, unsigned dim) {
  return llvm::cast<ShapedType>(value.getType()).getDimSize(dim);
}

/// Product of two sizes, dynamic if either is.
int64_t mulDims(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ? ShapedType::kDynamic : a * b;
}
} // namespace

/// Checks `routing` against the number of experts it chooses from and the optional score
/// bias of the op.
static LogicalResult verifyRoutingForExperts(Operation *op, RoutingAttr routing,
                                             int64_t numExperts, Value scoreBias) {
  // SparseMixer's masks are relative to the logits themselves; a bias has no place in them.
  if (scoreBias && routing.getScoring() == Scoring::sparse_mixer)
    return op->emitOpError("has a score_bias, which sparse_mixer routing does not take");
  if (ShapedType::isDynamic(numExperts))
    return success();
  int64_t k = routing.getK();
  if (k > numExperts)
    return op->emitOpError() << "routes each token to k = " << k << " experts but there are "
                             << numExperts;
  int64_t nGroup = routing.getNGroup();
  if (numExperts % nGroup != 0)
    return op->emitOpError() << "splits " << numExperts << " experts into n_group = " << nGroup
                             << " groups, which does not divide them evenly";
  int64_t eligible = routing.getTopkGroup() * (numExperts / nGroup);
  if (k > eligible)
    return op->emitOpError() << "routes each token to k = " << k << " experts but its "
                             << routing.getTopkGroup() << " best groups hold only " << eligible;
  return success();
}

/// Whether `weights` are fp8 (e4m3), whose scales are per block of rows and columns.
static bool isFP8(Value weights) {
  return llvm::isa<Float8E4M3FNType>(getElementTypeOrSelf(weights));
}

/// Checks group-wise `scales` (`[E, G, N]`; fp8: `[E, G, C]` blocks) against the quantized
/// `weights` (`[E, K, N]`) they dequantize: G groups must divide the K rows evenly, and C
/// blocks the N columns.
static LogicalResult verifyGroupScales(Operation *op, ShapeChecker &check, Value weights,
                                       Value scales) {
  if (failed(check.dim(scales, "scales", 0, dimOf(weights, 0), "the number of experts")) ||
      (!isFP8(weights) &&
       failed(check.dim(scales, "scales", 2, dimOf(weights, 2), "the weight columns"))))
    return failure();
  auto divides = [&](unsigned scaleDim, unsigned weightDim, StringRef what,
                     StringRef dimension) -> LogicalResult {
    int64_t parts = dimOf(scales, scaleDim), whole = dimOf(weights, weightDim);
    if (ShapedType::isDynamic(parts) || ShapedType::isDynamic(whole) ||
        (parts != 0 && whole % parts == 0))
      return success();
    return op->emitOpError() << "has " << parts << " scale " << what << ", which do not divide the "
                             << whole << " weight " << dimension << " evenly";
  };
  return success(succeeded(divides(1, 1, "groups", "rows")) &&
                 succeeded(divides(2, 2, "blocks of columns", "columns")));
}

/// Checks the quantization of `weights` (integers or fp8, `[E, K, N]`): its `scales` as
/// verifyGroupScales does, and `zeroPoints`, which unsigned integers need and signless ones
/// do not take, against the scales' shape and the weights' element type.
static LogicalResult verifyQuantization(Operation *op, ShapeChecker &check, Value weights,
                                        Value scales, Value zeroPoints) {
  if (failed(verifyGroupScales(op, check, weights, scales)))
    return failure();
  auto integerType = llvm::dyn_cast<IntegerType>(getElementTypeOrSelf(weights));
  if (integerType && integerType.isUnsigned() && !zeroPoints)
    return op->emitOpError() << "has unsigned integer weights (" << integerType
                             << ") but no zero points";
  if (!zeroPoints)
    return success();
  if (!integerType || !integerType.isUnsigned())
    return op->emitOpError() << "has zero points but " << getElementTypeOrSelf(weights)
                             << " weights: zero points take unsigned integer weights";
  for (unsigned dim = 0; dim < 3; ++dim)
    if (failed(check.dim(zeroPoints, "zero_points", dim, dimOf(scales, dim),
                         "the shape of the scales")))
      return failure();
  return check.elementType(zeroPoints, "zero_points", integerType,
                           "the element type of the weights");
}

/// Checks expert `weights` against the `elementType` of the values they multiply: floats of
/// that type, or integers or fp8 that `scales` (and, unsigned, `zeroPoints`) dequantize, as
/// verifyQuantization checks them.
static LogicalResult verifyWeights(Operation *op, ShapeChecker &check, Value weights, Value scales,
                                   Value zeroPoints, Type elementType) {
  bool quantized = llvm::isa<IntegerType>(getElementTypeOrSelf(weights)) || isFP8(weights);
  if (zeroPoints && !scales)
    return op->emitOpError("has zero points but no scales");
  if (quantized && !scales)
    return op->emitOpError("has integer weights but no scales to dequantize them");
  if (!quantized && scales)
    return op->emitOpError("has scales but floating-point weights");
  if (!quantized &&
      failed(check.elementType(weights, "weights", elementType, "the element type of the input")))
    return failure();
  if (scales)
    return verifyQuantization(op, check, weights, scales, zeroPoints);
  return success();
}

//===----------------------------------------------------------------------===//
// Routing canonicalization, shared by moe.layer and moe.route
//===----------------------------------------------------------------------===//

/// The simplest routing attribute that routes like `routing` over `numExperts` experts:
/// - when every expert is chosen (k == E), a softmax over the chosen logits is the softmax
///   over all of them, and softmax weights over all experts already sum to one, so neither
///   `topk_first` nor `renormalize` without an epsilon changes anything;
/// - when every group is kept (topk_group == n_group), group limiting is plain top-k.
static RoutingAttr simplifyRouting(RoutingAttr routing, int64_t numExperts) {
  bool renormalize = routing.getRenormalize();
  bool topkFirst = routing.getTopkFirst();
  int64_t nGroup = routing.getNGroup();
  int64_t topkGroup = routing.getTopkGroup();
  if (routing.getK() == numExperts && routing.getScoring() == Scoring::softmax &&
      routing.getRenormalizeEpsilon().isZero()) {
    renormalize = false;
    topkFirst = false;
  }
  if (topkGroup == nGroup)
    nGroup = topkGroup = 1;
  return RoutingAttr::get(routing.getContext(), routing.getScoring(), routing.getK(), renormalize,
                          topkFirst, nGroup, topkGroup, routing.getRoutedScalingFactor(),
                          routing.getCapacityFactor(), routing.getRenormalizeEpsilon(),
                          routing.getJitterEps(), routing.getZeroMaskedGroups(),
                          routing.getWeighInputs());
}

namespace {
template <typename OpT> struct SimplifyRouting : OpRewritePattern<OpT> {
  using OpRewritePattern<OpT>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpT op, PatternRewriter &rewriter) const override {
    int64_t numExperts = numExpertsOf(op);
    if (ShapedType::isDynamic(numExperts))
      return failure();
    RoutingAttr simpler = simplifyRouting(op.getRouting(), numExperts);
    if (simpler == op.getRouting())
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.setRoutingAttr(simpler); });
    return success();
  }

  static int64_t numExpertsOf(LayerOp op) { return op.getNumExperts(); }
  static int64_t numExpertsOf(RouteOp op) { return op.getNumExperts(); }
};

/// With a single expert and softmax scoring, every token goes to expert 0 with weight one
/// (times the routed scaling factor): the router is not needed at all.
struct FoldSingleExpertRoute : OpRewritePattern<RouteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteOp op, PatternRewriter &rewriter) const override {
    RoutingAttr routing = op.getRouting();
    if (op.getNumExperts() != 1 || routing.getScoring() != Scoring::softmax ||
        !routing.isDropless())
      return failure();
    Location loc = op.getLoc();
    SmallVector<Value> dynamicSizes;
    if (ShapedType::isDynamic(dimOf(op.getInput(), 0)))
      dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, op.getInput(), 0));
    auto weightsType = llvm::cast<RankedTensorType>(op.getWeights().getType());
    auto idsType = llvm::cast<RankedTensorType>(op.getExpertIds().getType());
    Value scale = arith::ConstantOp::create(
        rewriter, loc,
        FloatAttr::get(weightsType.getElementType(),
                       routing.getRoutedScalingFactor().convertToDouble()));
    Value expertZero =
        arith::ConstantOp::create(rewriter, loc, IntegerAttr::get(idsType.getElementType(), 0));
    Value weights = tensor::SplatOp::create(rewriter, loc, weightsType, scale, dynamicSizes);
    Value ids = tensor::SplatOp::create(rewriter, loc, idsType, expertZero, dynamicSizes);
    rewriter.replaceOp(op, {weights, ids});
    return success();
  }
};
} // namespace

//===----------------------------------------------------------------------===//
// LayerOp
//===----------------------------------------------------------------------===//

LogicalResult LayerOp::verify() {
  ShapeChecker check(*this);
  Value tokens = getTokens();
  int64_t numTokens = dimOf(tokens, 0);
  int64_t hidden = dimOf(tokens, 1);
  int64_t numExperts = getNumExperts();
  int64_t upColumns = dimOf(getUpWeight(), 2);
  bool gated = getExpert().getGated();
  StringRef columnsReason =
      gated ? "the gated up projection has 2 x the down projection's inner size"
            : "the up projection's columns are the down projection's inner size";
  Type elementType = getElementTypeOrSelf(tokens.getType());

  Value routerWeight = getRouterWeight();
  Value routerLogits = getRouterLogits();
  if (static_cast<bool>(routerWeight) == static_cast<bool>(routerLogits))
    return emitOpError("needs exactly one of router_weight and router_logits");
  if (routerLogits && getRouterBias())
    return emitOpError("has router_logits and a router_bias; the bias belongs in the logits");
  if (routerWeight &&
      (failed(check.dim(routerWeight, "router_weight", 0, numExperts, "the number of experts")) ||
       failed(check.dim(routerWeight, "router_weight", 1, hidden, "the hidden size"))))
    return failure();
  if (routerLogits &&
      (failed(check.dim(routerLogits, "router_logits", 0, numTokens, "the number of tokens")) ||
       failed(check.dim(routerLogits, "router_logits", 1, numExperts, "the number of experts"))))
    return failure();

  if (failed(check.dim(getUpWeight(), "up_weight", 1, hidden, "the hidden size")) ||
      failed(check.dim(getDownWeight(), "down_weight", 0, numExperts, "the number of experts")) ||
      failed(check.dim(getDownWeight(), "down_weight", 1, gated ? upColumns / 2 : upColumns,
                       columnsReason)) ||
      failed(check.dim(getDownWeight(), "down_weight", 2, hidden, "the hidden size")) ||
      failed(check.dim(getResult(), "result", 0, numTokens, "the number of tokens")) ||
      failed(check.dim(getResult(), "result", 1, hidden, "the hidden size")))
    return failure();
  if (gated && !ShapedType::isDynamic(upColumns) && upColumns % 2 != 0)
    return emitOpError() << "has gated experts but an odd number of up_weight columns ("
                         << upColumns << ")";

  if (Value bias = getRouterBias())
    if (failed(check.dim(bias, "router_bias", 0, numExperts, "the number of experts")))
      return failure();
  if (Value bias = getScoreBias())
    if (failed(check.dim(bias, "score_bias", 0, numExperts, "the number of experts")))
      return failure();
  if (Value bias = getUpBias())
    if (failed(check.dim(bias, "up_bias", 0, numExperts, "the number of experts")) ||
        failed(check.dim(bias, "up_bias", 1, upColumns, "up_weight's columns")))
      return failure();
  if (Value bias = getDownBias())
    if (failed(check.dim(bias, "down_bias", 0, numExperts, "the number of experts")) ||
        failed(check.dim(bias, "down_bias", 1, hidden, "the hidden size")))
      return failure();

  if (static_cast<bool>(getSharedUp()) != static_cast<bool>(getSharedDown()))
    return emitOpError("needs both shared_up and shared_down, or neither");
  if (getSharedGate() && !getSharedUp())
    return emitOpError("has a shared_gate but no shared expert");
  if (Value sharedUp = getSharedUp()) {
    int64_t sharedColumns = dimOf(sharedUp, 1);
    if (failed(check.dim(sharedUp, "shared_up", 0, hidden, "the hidden size")) ||
        failed(check.dim(getSharedDown(), "shared_down", 0,
                         gated ? sharedColumns / 2 : sharedColumns,
                         gated ? "the gated shared_up has 2 x shared_down's inner size"
                               : "shared_up's columns are shared_down's inner size")) ||
        failed(check.dim(getSharedDown(), "shared_down", 1, hidden, "the hidden size")))
      return failure();
    if (gated && !ShapedType::isDynamic(sharedColumns) && sharedColumns % 2 != 0)
      return emitOpError() << "has gated experts but an odd number of shared_up columns ("
                           << sharedColumns << ")";
  }
  if (Value sharedGate = getSharedGate())
    if (failed(check.dim(sharedGate, "shared_gate", 0, hidden, "the hidden size")) ||
        failed(check.dim(sharedGate, "shared_gate", 1, 1, "the gate is one logit per token")))
      return failure();

  for (OpOperand &operand : getOperation()->getOpOperands()) {
    StringRef name = getOperandSegmentName(operand.getOperandNumber());
    if (failed(
            check.elementType(operand.get(), name, elementType, "the element type of the tokens")))
      return failure();
  }
  if (failed(
          check.elementType(getResult(), "result", elementType, "the element type of the tokens")))
    return failure();
  return verifyRoutingForExperts(*this, getRouting(), numExperts, getScoreBias());
}

StringRef LayerOp::getOperandSegmentName(unsigned operandNumber) {
  static constexpr StringLiteral names[] = {
      "tokens",     "up_weight", "down_weight", "router_weight", "router_logits", "router_bias",
      "score_bias", "up_bias",   "down_bias",   "shared_up",     "shared_down",   "shared_gate"};
  auto segments = getProperties().operandSegmentSizes;
  unsigned first = 0;
  for (auto [segment, size] : llvm::enumerate(segments)) {
    if (operandNumber < first + size)
      return names[segment];
    first += size;
  }
  return "operand";
}

void LayerOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<SimplifyRouting<LayerOp>>(context);
}

//===----------------------------------------------------------------------===//
// RouteOp
//===----------------------------------------------------------------------===//

LogicalResult RouteOp::verify() {
  ShapeChecker check(*this);
  Value input = getInput();
  int64_t numTokens = dimOf(input, 0);
  int64_t numExperts = getNumExperts();
  int64_t k = getRouting().getK();
  Type elementType = getElementTypeOrSelf(input);
  if (failed(check.dim(getWeights(), "weights", 0, numTokens, "the number of tokens")) ||
      failed(check.dim(getWeights(), "weights", 1, k, "the routing's k")) ||
      failed(check.dim(getExpertIds(), "expert_ids", 0, numTokens, "the number of tokens")) ||
      failed(check.dim(getExpertIds(), "expert_ids", 1, k, "the routing's k")))
    return failure();
  if (Value router = getRouterWeight()) {
    if (failed(check.dim(router, "router", 1, dimOf(input, 1), "the hidden size of the input")) ||
        failed(check.elementType(router, "router", elementType, "the element type of the input")))
      return failure();
  } else if (getRouterBias()) {
    return emitOpError("has a router_bias but no router; the bias belongs in the logits");
  }
  if (Value bias = getRouterBias())
    if (failed(check.dim(bias, "router_bias", 0, numExperts, "the number of experts")) ||
        failed(
            check.elementType(bias, "router_bias", elementType, "the element type of the input")))
      return failure();
  if (Value bias = getScoreBias()) {
    if (failed(check.dim(bias, "score_bias", 0, numExperts, "the number of experts")) ||
        failed(check.elementType(bias, "score_bias", elementType, "the element type of the input")))
      return failure();
  }
  if (getRouting().getWeighInputs())
    return emitOpError("computes routing weights, which weigh_inputs says how to apply: only "
                       "moe.layer takes it");
  return verifyRoutingForExperts(*this, getRouting(), numExperts, getScoreBias());
}

void RouteOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<SimplifyRouting<RouteOp>, FoldSingleExpertRoute>(context);
}

//===----------------------------------------------------------------------===//
// PermuteOp
//===----------------------------------------------------------------------===//

LogicalResult PermuteOp::verify() {
  ShapeChecker check(*this);
  int64_t numExperts = getNumExperts();
  int64_t pairs = mulDims(dimOf(getExpertIds(), 0), dimOf(getExpertIds(), 1));
  int64_t padded = ShapedType::isDynamic(pairs) ? pairs : getPaddedLength(pairs);
  if (failed(check.dim(getExpertOffsets(), "expert_offsets", 0, numExperts + 1,
                       "one offset per expert plus the end")) ||
      failed(check.dim(getSortedIds(), "sorted_ids", 0, padded,
                       "tokens x k plus the worst-case padding of every expert")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// GroupedMatmulOp
//===----------------------------------------------------------------------===//

/// The columns that `expert`'s activation leaves of `columns` (half when gated), or
/// failure, reported on `op`, when a gated activation has an odd number of `what`.
static FailureOr<int64_t> activatedColumns(Operation *op, ExpertAttr expert, int64_t columns,
                                           StringRef what) {
  if (!expert || !expert.getGated() || ShapedType::isDynamic(columns))
    return columns;
  if (columns % 2 != 0)
    return op->emitOpError() << "has a gated activation but an odd number of " << what << " ("
                             << columns << ")";
  return columns / 2;
}

LogicalResult GroupedMatmulOp::verify() {
  ShapeChecker check(*this);
  Value weights = getWeights();
  int64_t numExperts = dimOf(weights, 0);
  int64_t reduction = dimOf(weights, 1);
  int64_t columns = dimOf(weights, 2);
  Type elementType = getElementTypeOrSelf(getInput());

  if (static_cast<bool>(getSortedIds()) != getRowsPerToken().has_value())
    return emitOpError("needs rows_per_token exactly when it gathers through sorted_ids");
  int64_t rows = getSortedIds() ? dimOf(getSortedIds(), 0) : dimOf(getInput(), 0);
  StringRef rowsReason =
      getSortedIds() ? "one row per entry of sorted_ids" : "one row per row of the sorted input";
  Value combineIds = getCombineIds(), combineWeights = getCombineWeights();
  if (static_cast<bool>(combineIds) != static_cast<bool>(combineWeights))
    return emitOpError("needs both combine_ids and combine_weights to combine, or neither");
  int64_t resultRows = rows;
  if (combineWeights) {
    if (failed(check.dim(combineIds, "combine_ids", 0, rows, "one entry per row")) ||
        failed(check.elementType(combineWeights, "combine_weights", elementType,
                                 "the element type of the input")))
      return failure();
    resultRows = dimOf(combineWeights, 0);
    rowsReason = "one row per token of combine_weights";
  }

  FailureOr<int64_t> resultColumns =
      activatedColumns(*this, getExpertAttr(), columns, "weight columns");
  if (failed(resultColumns))
    return failure();

  if (failed(check.dim(getInput(), "input", 1, reduction, "the weights' rows")) ||
      failed(check.dim(getExpertOffsets(), "expert_offsets", 0, numExperts + 1,
                       "one offset per expert plus the end")) ||
      failed(check.dim(getResult(), "result", 0, resultRows, rowsReason)) ||
      failed(check.dim(getResult(), "result", 1, *resultColumns,
                       getExpertAttr() && getExpertAttr().getGated()
                           ? "half the weight columns, after the gated epilogue"
                           : "the weight columns")) ||
      failed(
          check.elementType(getResult(), "result", elementType, "the element type of the input")))
    return failure();

  if (Value bias = getBias())
    if (failed(check.dim(bias, "bias", 0, numExperts, "the number of experts")) ||
        failed(check.dim(bias, "bias", 1, columns, "the weight columns")) ||
        failed(check.elementType(bias, "bias", elementType, "the element type of the input")))
      return failure();

  return verifyWeights(*this, check, weights, getScales(), getZeroPoints(), elementType);
}

namespace {
/// Weights that a `moe.dequantize` makes are dequantized inside the GEMM instead.
struct DequantizeInsideGroupedMatmul : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    auto dequantize = op.getWeights().getDefiningOp<DequantizeOp>();
    if (!dequantize || op.getScales())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getWeightsMutable().assign(dequantize.getQuantized());
      op.getScalesMutable().assign(dequantize.getScales());
      if (Value zeroPoints = dequantize.getZeroPoints())
        op.getZeroPointsMutable().assign(zeroPoints);
    });
    return success();
  }
};
} // namespace

void GroupedMatmulOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *context) {
  results.add<DequantizeInsideGroupedMatmul>(context);
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  ShapeChecker check(*this);
  Value quantized = getQuantized();
  for (unsigned dim = 0; dim < 3; ++dim)
    if (failed(check.dim(getResult(), "result", dim, dimOf(quantized, dim),
                         "the shape of the quantized weights")))
      return failure();
  if (failed(check.elementType(getResult(), "result", getElementTypeOrSelf(getScales()),
                               "the element type of the scales")))
    return failure();
  return verifyQuantization(*this, check, quantized, getScales(), getZeroPoints());
}

//===----------------------------------------------------------------------===//
// UnpermuteOp
//===----------------------------------------------------------------------===//

LogicalResult UnpermuteOp::verify() {
  ShapeChecker check(*this);
  int64_t slots = dimOf(getExpertOut(), 0);
  int64_t numTokens = dimOf(getWeights(), 0);
  int64_t pairs = mulDims(numTokens, dimOf(getWeights(), 1));
  Type elementType = getElementTypeOrSelf(getExpertOut());
  if (failed(
          check.dim(getSortedIds(), "sorted_ids", 0, slots, "one entry per row of expert_out")) ||
      failed(check.dim(getResult(), "result", 0, numTokens, "the number of tokens")) ||
      failed(
          check.dim(getResult(), "result", 1, dimOf(getExpertOut(), 1), "expert_out's columns")) ||
      failed(check.elementType(getWeights(), "weights", elementType,
                               "the element type of expert_out")) ||
      failed(
          check.elementType(getResult(), "result", elementType, "the element type of expert_out")))
    return failure();
  if (!ShapedType::isDynamic(slots) && !ShapedType::isDynamic(pairs) && slots < pairs)
    return emitOpError() << "has " << slots << " expert_out rows, fewer than the " << pairs
                         << " (token, expert) pairs it combines";
  return success();
}

//===----------------------------------------------------------------------===//
// GatherRowsOp
//===----------------------------------------------------------------------===//

LogicalResult GatherRowsOp::verify() {
  ShapeChecker check(*this);
  Type elementType = getElementTypeOrSelf(getTokens());
  if (failed(check.dim(getResult(), "result", 0, dimOf(getSortedIds(), 0),
                       "one row per entry of sorted_ids")) ||
      failed(check.dim(getResult(), "result", 1, dimOf(getTokens(), 1), "the tokens' columns")) ||
      failed(check.elementType(getResult(), "result", elementType,
                               "the element type of the tokens")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// ExpertActivationOp
//===----------------------------------------------------------------------===//

LogicalResult ExpertActivationOp::verify() {
  ShapeChecker check(*this);
  Value input = getInput();
  FailureOr<int64_t> columns = activatedColumns(*this, getExpert(), dimOf(input, 1), "input columns");
  if (failed(columns) ||
      failed(check.dim(getResult(), "result", 0, dimOf(input, 0), "one row per input row")) ||
      failed(check.dim(getResult(), "result", 1, *columns,
                       getExpert().getGated() ? "half the input columns, gated"
                                              : "the input columns")) ||
      failed(check.elementType(getResult(), "result", getElementTypeOrSelf(input),
                               "the element type of the input")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// ExpertParallelOp
//===----------------------------------------------------------------------===//

LogicalResult ExpertParallelOp::verify() {
  ArrayRef<int32_t> ranks = getExpertRanks(), slots = getExpertSlots();
  if (ranks.size() != slots.size())
    return emitOpError() << "has " << ranks.size() << " expert ranks but " << slots.size()
                         << " expert slots";
  int64_t localExperts = dimOf(getUpWeight(), 0);
  for (auto [expert, rank, slot] : llvm::enumerate(ranks, slots)) {
    if (rank < -1 || (rank >= 0 && uint64_t(rank) >= getNumRanks()))
      return emitOpError() << "places expert " << expert << " on rank " << rank << " of "
                           << getNumRanks();
    if (slot < 0 || (!ShapedType::isDynamic(localExperts) && slot >= localExperts))
      return emitOpError() << "places expert " << expert << " in slot " << slot
                           << " of stacks of " << localExperts << " experts";
  }
  ShapeChecker check(*this);
  int64_t hidden = dimOf(getTokens(), 1);
  return success(
      succeeded(check.dim(getUpWeight(), "up_weight", 1, hidden, "the tokens' hidden size")) &&
      succeeded(check.dim(getDownWeight(), "down_weight", 2, hidden, "the tokens' hidden size")) &&
      succeeded(
          check.dim(getDownWeight(), "down_weight", 0, localExperts, "up_weight's experts")) &&
      succeeded(
          check.dim(getResult(), "result", 0, dimOf(getTokens(), 0), "the number of tokens")) &&
      succeeded(check.dim(getResult(), "result", 1, hidden, "the tokens' hidden size")) &&
      succeeded(verifyWeights(*this, check, getUpWeight(), getUpScales(), getUpZeroPoints(),
                              getElementTypeOrSelf(getTokens()))) &&
      succeeded(verifyWeights(*this, check, getDownWeight(), getDownScales(), getDownZeroPoints(),
                              getElementTypeOrSelf(getTokens()))));
}

//===----------------------------------------------------------------------===//
// CheckOp
//===----------------------------------------------------------------------===//

LogicalResult CheckOp::verify() {
  // The runtime's moec_rt_check_failed takes two values.
  constexpr size_t kMaxValues = 2;
  if (getValues().size() > kMaxValues)
    return emitOpError() << "takes at most " << kMaxValues << " values";
  StringRef message = getMessage();
  for (size_t brace = message.find('{'); brace != StringRef::npos;
       brace = message.find('{', brace + 2)) {
    if (message.substr(brace).starts_with("{{"))
      continue;
    StringRef rest = message.substr(brace);
    if (rest.size() < 3 || rest[2] != '}' || rest[1] < '0' ||
        size_t(rest[1] - '0') >= getValues().size())
      return emitOpError() << "message has '{' at " << brace
                           << " that is neither '{{' nor '{N}' for one of its "
                           << getValues().size() << " values";
  }
  return success();
}

LogicalResult CheckOp::canonicalize(CheckOp op, PatternRewriter &rewriter) {
  if (!matchPattern(op.getCondition(), m_One()))
    return failure();
  rewriter.eraseOp(op);
  return success();
}

//===----------------------------------------------------------------------===//
// RefineShapeOp
//===----------------------------------------------------------------------===//

LogicalResult RefineShapeOp::verify() {
  auto source = cast<RankedTensorType>(getSource().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  if (source.getElementType() != result.getElementType() ||
      source.getRank() != result.getRank())
    return emitOpError() << "result " << result << " must have the element type and rank of "
                         << source;
  for (auto [dim, from, to] : llvm::enumerate(source.getShape(), result.getShape()))
    if (!ShapedType::isDynamic(from) && from != to)
      return emitOpError() << "result dim " << dim << " must keep the source's static size "
                           << from;
  return success();
}
