//===- RaiseHFMoE.cpp - Raise Hugging Face style loops over experts -------===//
//
// torch.onnx.export writes a Hugging Face sparse MoE block as: router Linear, scores,
// TopK, OneHot of the chosen experts transposed to [E, k, T] (or [E, T, k]), and for every
// expert e: Gather(mask, e) -> NonZero -> (slot row, token row); Gather of the chosen token
// rows; the expert MLP; Mul by the routing weight of (token, slot); ScatterElements of the
// product into zeros (index_add_), added to the running sum. The sum after the last expert
// is the layer's [T, H] output, which becomes one moe.layer.
//
//===----------------------------------------------------------------------===//

#include "ExpertChoice.h"
#include "ExpertMatcher.h"
#include "LayerOperands.h"
#include "RaiseDriver.h"
#include "RouterMatcher.h"
#include "WeightStack.h"

#include "moec/Passes/Raise/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace moec {
#define GEN_PASS_DEF_RAISEHFMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;

//===----------------------------------------------------------------------===//
// Matching the layer
//===----------------------------------------------------------------------===//

namespace {
/// One expert's iteration of the loop.
struct ExpertChain {
  ExpertBody body;
  /// The running sum before and after this expert's contribution.
  Value sumBefore, sumAfter;
};

struct HFMoELayer {
  onnx::NodeOp topK;
  Routing routing;
  /// Per expert, in expert order.
  SmallVector<ExpertChain> experts;
  std::optional<SharedExpert> shared;
  /// The routed experts' sum, which the moe.layer replaces.
  Value routedSum;
};
} // namespace

static bool hasIntsAttr(onnx::NodeOp node, StringRef name, ArrayRef<int64_t> expected) {
  std::optional<SmallVector<int64_t>> values = node.getIntsAttr(name);
  return values && ArrayRef<int64_t>(*values) == expected;
}

/// The (token, slot) rows of `NonZero(mask)` for a 2-D mask, as the exporter splits them:
/// Transpose [1, 0] -> Split on axis 1 -> Squeeze axis 1.
static std::optional<std::pair<Value, Value>> getNonZeroRows(onnx::NodeOp nonZero) {
  onnx::NodeOp transpose = getSingleUser(nonZero.getResult(0), "Transpose");
  if (!transpose || !hasIntsAttr(transpose, "perm", {1, 0}))
    return std::nullopt;
  onnx::NodeOp split = getSingleUser(transpose.getResult(0), "Split");
  if (!split || split.getNumResults() != 2 || split.getIntAttr("axis", 0) != 1 ||
      (split.hasInput(1) && !hasIntsInput(split, 1, {1, 1})))
    return std::nullopt;
  Value rows[2];
  for (unsigned i : {0u, 1u}) {
    onnx::NodeOp squeeze = getSingleUser(split.getResult(i), "Squeeze");
    if (!squeeze || !hasIntsInput(squeeze, 1, {1}))
      return std::nullopt;
    rows[i] = squeeze.getResult(0);
  }
  return std::make_pair(rows[0], rows[1]);
}

/// The rows of `tokens` that `tokenRow` picks, as the expert's input: `Gather(tokens,
/// rows)`, or `Reshape(Gather(Unsqueeze(tokens, 0), rows, axis = 1), [-1, H])` (torch's
/// `hidden_states[None, top_x].reshape(-1, H)`), the Unsqueeze any view of the tokens as
/// [1, T, H].
static Value findExpertInput(Value tokenRow, Value tokens, int64_t hidden) {
  for (onnx::NodeOp gather : getUsers(tokenRow, "Gather")) {
    if (gather.getInputs()[1] != tokenRow)
      continue;
    Value data = gather.getInputs()[0];
    int64_t axis = gather.getIntAttr("axis", 0);
    if (data == tokens && axis == 0)
      return gather.getResult(0);
    // The tokens viewed as [1, T, H] (`Unsqueeze(tokens, 0)`, or, once moec-simplify-graph
    // has collapsed the views, the tensor the tokens are a view of): reshapes keep the rows.
    auto dataType = llvm::dyn_cast<RankedTensorType>(data.getType());
    if (axis != 1 || !dataType || dataType.getRank() != 3 || dataType.getDimSize(0) != 1 ||
        dataType.getDimSize(2) != hidden || skipReshapes(data) != skipReshapes(tokens))
      continue;
    for (onnx::NodeOp reshape : getUsers(gather.getResult(0), "Reshape"))
      if (hasIntsInput(reshape, 1, {-1, hidden}))
        return reshape.getResult(0);
  }
  return {};
}

/// Whether `value` is the size of the k axis: a constant k, or `Gather(Shape(x), 1)` of an
/// x whose dimension 1 is statically k.
static bool isSlotCount(Value value, int64_t k) {
  if (std::optional<SmallVector<int64_t>> constant = getIntConstant(value))
    return constant->size() == 1 && (*constant)[0] == k;
  onnx::NodeOp gather = getDefiningNode(value, "Gather");
  onnx::NodeOp shape = gather ? getDefiningNode(gather.getInputs()[0], "Shape") : nullptr;
  if (!shape || shape.hasNodeAttr("start") || !hasIntsInput(gather, 1, {1}))
    return false;
  auto type = llvm::dyn_cast<RankedTensorType>(shape.getInputs()[0].getType());
  return type && type.getRank() >= 2 && type.getDimSize(1) == k;
}

/// Whether `value` is `weights[token, slot]` as a [n, 1] column: torch's
/// `routing_weights[top_x, idx, None]` (Mixtral) and `topk_weights[token, slot]
/// .unsqueeze(-1)` (DeepSeek) flatten `weights` to [T * k, 1] and gather row
/// `token * k + slot`; Reshapes and Unsqueezes, which keep the order of the n weights, may
/// follow.
static bool isWeightLookup(Value value, Value weights, Value tokenRow, Value slotRow,
                           int64_t k) {
  auto columnType = llvm::dyn_cast<RankedTensorType>(value.getType());
  if (!columnType || columnType.getRank() != 2 || columnType.getDimSize(1) != 1)
    return false;
  for (onnx::NodeOp view;
       (view = getDefiningNode(value, "Reshape")) || (view = getDefiningNode(value, "Unsqueeze"));)
    value = view.getInputs()[0];
  onnx::NodeOp gather = getDefiningNode(value, "Gather");
  if (!gather || gather.getIntAttr("axis", 0) != 0)
    return false;
  // Flatten(weights, 2) or Flatten(Unsqueeze(weights, 2), 2): both [T * k, 1]. With k = 1
  // the weights [T, 1] are that already (moec-simplify-graph bypasses the no-op Flatten).
  Value flattened = gather.getInputs()[0];
  if (onnx::NodeOp flatten = getDefiningNode(flattened, "Flatten")) {
    if (flatten.getIntAttr("axis", 1) != 2)
      return false;
    flattened = flatten.getInputs()[0];
    if (onnx::NodeOp unsqueeze = getDefiningNode(flattened, "Unsqueeze");
        unsqueeze && hasIntsInput(unsqueeze, 1, {2}))
      flattened = unsqueeze.getInputs()[0];
  } else if (k != 1) {
    return false;
  }
  if (skipFloatCasts(flattened) != skipFloatCasts(weights))
    return false;
  // The flat row: Add(slot, Mul(token, k)), operands in either order.
  return matchEitherInput(getDefiningNode(gather.getInputs()[1], "Add"), [&](Value slot) {
           onnx::NodeOp add = getDefiningNode(gather.getInputs()[1], "Add");
           Value scaled = add.getInputs()[add.getInputs()[0] == slot ? 1 : 0];
           return slot == slotRow &&
                  matchEitherInput(getDefiningNode(scaled, "Mul"), [&](Value token) {
                    onnx::NodeOp mul = getDefiningNode(scaled, "Mul");
                    return token == tokenRow &&
                           isSlotCount(mul.getInputs()[mul.getInputs()[0] == token ? 1 : 0], k);
                  }).has_value();
         }).has_value();
}

/// The token rows `[n]` as a column `[n, 1]`: `Unsqueeze(tokenRow, 1)`, or the column that
/// `tokenRow` squeezes (moec-simplify-graph bypasses the Squeeze-Unsqueeze round trip).
static SmallVector<Value> getTokenColumns(Value tokenRow) {
  SmallVector<Value> columns;
  for (onnx::NodeOp unsqueeze : getUsers(tokenRow, "Unsqueeze"))
    if (hasIntsInput(unsqueeze, 1, {1}))
      columns.push_back(unsqueeze.getResult(0));
  if (onnx::NodeOp squeeze = getDefiningNode(tokenRow, "Squeeze");
      squeeze && hasIntsInput(squeeze, 1, {1}))
    columns.push_back(squeeze.getInputs()[0]);
  return columns;
}

/// Matches expert `expert`'s iteration, given its mask rows. With a `hitIndex`, the
/// iteration is part `expert` of a loop over the experts hit, and its matrices must be
/// gathered from stacks by that same index.
static FailureOr<ExpertChain> matchExpertChain(const Routing &routing, int64_t expert,
                                               Value tokenRow, Value slotRow, Reason &reason,
                                               Value hitIndex = Value()) {
  Value tokens = routing.router.input;
  int64_t hidden = routing.router.getInSize();
  auto fail = [&](const Twine &why) {
    reason = ((hitIndex ? "part " : "expert ") + Twine(expert) + ": " + why).str();
    return failure();
  };
  Value input = findExpertInput(tokenRow, tokens, hidden);
  if (!input)
    return fail("no Gather of its token rows from the router's input");

  // index_add_(0, token, contribution): ScatterElements(zeros, Expand(Unsqueeze(token, 1)),
  // Expand(contribution), axis = 0), added to the running sum.
  onnx::NodeOp scatter;
  for (Value column : getTokenColumns(tokenRow))
    for (onnx::NodeOp expand : getUsers(column, "Expand"))
      for (onnx::NodeOp user : getUsers(expand.getResult(0), "ScatterElements"))
        if (user.getInputs()[1] == expand.getResult(0))
          scatter = user;
  if (!scatter)
    return fail("its token rows are not scattered into the output (index_add_)");
  StringRef reduction = scatter.getStringAttr("reduction", "none");
  if (scatter.getIntAttr("axis", 0) != 0 || (reduction != "none" && reduction != "add"))
    return fail(describe(scatter) + " is not an index_add_ on axis 0");
  onnx::NodeOp sum = getSingleUser(scatter.getResult(0), "Add");
  if (!sum || !scatter.getResult(0).hasOneUse())
    return fail(describe(scatter) + " is not added to a running sum");
  ExpertChain chain;
  chain.sumAfter = sum.getResult(0);
  chain.sumBefore = sum.getInputs()[sum.getInputs()[0] == scatter.getResult(0) ? 1 : 0];
  if (!isZerosLike(scatter.getInputs()[0], chain.sumBefore))
    return fail(describe(scatter) + " does not scatter into zeros");

  Value contribution = scatter.getInputs()[2];
  if (onnx::NodeOp expand = getDefiningNode(contribution, "Expand"))
    contribution = expand.getInputs()[0];
  onnx::NodeOp weighted = getDefiningNode(contribution, "Mul");
  std::optional<unsigned> weightIndex = matchEitherInput(weighted, [&](Value value) {
    return isWeightLookup(value, routing.weights, tokenRow, slotRow, routing.k);
  });
  if (!weightIndex)
    return fail("its output is not multiplied by the routing weight of its (token, slot)");
  auto matchProjection = [&](Value output, Reason &why) -> FailureOr<Linear> {
    if (!hitIndex)
      return matchExpertLinear(output, why);
    FailureOr<Linear> linear =
        matchExpertLinear(output, why, [&](Value index, int64_t) -> std::optional<int64_t> {
          return index == hitIndex ? std::optional(expert) : std::nullopt;
        });
    if (succeeded(linear) && !linear->expertOfStack)
      return why = "its projection reads no matrix of a stack by the expert it hits", failure();
    return linear;
  };
  FailureOr<ExpertBody> body =
      matchExpertBody(input, weighted.getInputs()[1 - *weightIndex], reason, matchProjection);
  if (failed(body))
    return fail(reason);
  // A projection over a stack of expert matrices must take this expert's, of as many as
  // the router has.
  for (const Linear *linear : {&body->up, &body->down, body->gate ? &*body->gate : nullptr})
    if (linear && linear->expertOfStack &&
        (*linear->expertOfStack != expert || linear->getNumExperts() != routing.getNumExperts()))
      return fail("a projection takes expert " + Twine(*linear->expertOfStack) + "'s matrix of " +
                  Twine(linear->getNumExperts()));
  chain.body = std::move(*body);
  return chain;
}

/// Whether `hit` `[E']` is which experts of the mask `[E', ., .]` are chosen at all:
/// `Greater(ReduceSum(mask, axes = [1, 2], keepdims = 0), 0)`.
static bool isExpertsHit(Value hit, Value mask) {
  onnx::NodeOp greater = getDefiningNode(hit, "Greater");
  onnx::NodeOp sum = greater ? getDefiningNode(greater.getInputs()[0], "ReduceSum") : nullptr;
  if (!sum || !isScalarConstant(greater.getInputs()[1], 0.0) || sum.getInputs()[0] != mask ||
      sum.getIntAttr("keepdims", 1) != 0)
    return false;
  std::optional<SmallVector<int64_t>> axes =
      sum.hasInput(1) ? getIntConstant(sum.getInputs()[1]) : sum.getIntsAttr("axes");
  if (!axes || axes->size() != 2)
    return false;
  SmallVector<int64_t> sorted = llvm::map_to_vector(*axes, [](int64_t axis) {
    return axis < 0 ? axis + 3 : axis;
  });
  llvm::sort(sorted);
  return sorted == SmallVector<int64_t>{1, 2};
}

/// Whether `a` and `b` take their matrices (and biases) from the same constants.
static bool haveSameMatrices(const ExpertBody &a, const ExpertBody &b) {
  auto same = [](const Linear &x, const Linear &y) {
    return x.weight == y.weight && x.weightIsOutIn == y.weightIsOutIn && x.bias == y.bias;
  };
  return same(a.up, b.up) && same(a.down, b.down) && a.gate.has_value() == b.gate.has_value() &&
         (!a.gate || same(*a.gate, *b.gate));
}

static FailureOr<HFMoELayer> matchHFMoELayer(onnx::NodeOp topK, Reason &reason) {
  HFMoELayer layer;
  layer.topK = topK;
  FailureOr<Routing> routing = matchRoutingOfChoice(topK, reason);
  if (failed(routing))
    return failure();
  layer.routing = *routing;
  int64_t numExperts = routing->getNumExperts();
  Value tokens = routing->router.input;
  auto fail = [&](const Twine &why) {
    reason = why.str();
    return failure();
  };

  // transformers 5 one-hot encodes E + 1 classes; the last is never chosen.
  onnx::NodeOp oneHot = getSingleUser(routing->expertIds, "OneHot");
  if (!oneHot || oneHot.getInputs()[0] != routing->expertIds ||
      oneHot.getIntAttr("axis", -1) != -1 ||
      (!hasIntsInput(oneHot, 1, {numExperts}) && !hasIntsInput(oneHot, 1, {numExperts + 1})) ||
      !hasIntsInput(oneHot, 2, {0, 1}))
    return fail("the chosen experts do not feed a OneHot of depth " + Twine(numExperts) +
                " (the router's experts) or " + Twine(numExperts + 1));
  onnx::NodeOp transpose = getSingleUser(oneHot.getResult(0), "Transpose");
  bool tokenFirst = transpose && hasIntsAttr(transpose, "perm", {2, 0, 1});
  if (!transpose || (!tokenFirst && !hasIntsAttr(transpose, "perm", {2, 1, 0})))
    return fail("the expert mask is not permuted to [E, k, T] or [E, T, k]");

  // Without a constant expert per iteration, the loop visits the experts hit (transformers
  // 5's): all of them when the trace hit all, and then part i is expert i; or the n the
  // trace hit, a Split in n parts of one, which runs only where exactly n experts are hit.
  // Part i is then whichever expert a run hits i-th: its mask and matrices are gathered by
  // that one index, so the parts add up every expert hit, and the layer's sum.
  Value mask = transpose.getResult(0);
  std::optional<int64_t> hitParts;
  bool anyExpertNamed = false;
  SmallVector<std::optional<ExpertChain>> chains(numExperts);
  for (onnx::NodeOp gather : getUsers(mask, "Gather")) {
    // A constant expert, or the i-th of the experts hit (transformers 5's loop).
    Value expertIndex = gather.getInputs()[1];
    std::optional<SmallVector<int64_t>> index = getIntConstant(expertIndex);
    std::optional<int64_t> expert =
        index && index->size() == 1 ? std::optional((*index)[0])
                                    : getVisitedExpert(expertIndex, numExperts);
    std::optional<HitPart> part =
        expert ? std::nullopt : matchHitPart(gather.getInputs()[1]);
    if (part && part->parts < numExperts && isExpertsHit(part->hit, mask) &&
        (!hitParts || *hitParts == part->parts)) {
      expert = part->part;
      hitParts = part->parts;
    } else {
      anyExpertNamed = anyExpertNamed || expert.has_value();
      part.reset();
    }
    if (gather.getInputs()[0] != mask || gather.getIntAttr("axis", 0) != 0 || !expert ||
        *expert < 0 || *expert >= numExperts || (hitParts && anyExpertNamed))
      return fail(describe(gather) + " is not one expert's mask (a constant expert, the " +
                  "i-th of all " + Twine(numExperts) + " experts hit, or the i-th of the n " +
                  "experts hit of a loop over n parts)");
    if (chains[*expert])
      return fail("expert " + Twine(*expert) + "'s mask is taken twice");
    Value expertMask = gather.getResult(0);
    if (onnx::NodeOp cast = getSingleUser(expertMask, "Cast"))
      expertMask = cast.getResult(0);
    onnx::NodeOp nonZero = getSingleUser(expertMask, "NonZero");
    std::optional<std::pair<Value, Value>> rows =
        nonZero ? getNonZeroRows(nonZero) : std::nullopt;
    if (!rows)
      return fail("expert " + Twine(*expert) + "'s mask does not go through torch.where");
    auto [tokenRow, slotRow] = tokenFirst ? *rows : std::make_pair(rows->second, rows->first);
    FailureOr<ExpertChain> chain = matchExpertChain(*routing, *expert, tokenRow, slotRow, reason,
                                                    part ? expertIndex : Value());
    if (failed(chain))
      return failure();
    // The chains found so far are all of one kind: comparing with any of them suffices.
    auto other = llvm::find_if(chains, [](const std::optional<ExpertChain> &found) {
      return found.has_value();
    });
    if (other != chains.end() && !(*other)->body.isSameKind(chain->body)) {
      int64_t inner = chain->body.getInnerSize(), otherInner = (*other)->body.getInnerSize();
      if (inner != otherInner)
        return fail("expert " + Twine(*expert) + "'s inner size is " + Twine(inner) +
                    " but the other experts' is " + Twine(otherInner) +
                    " (moe.layer's experts share one shape)");
      return fail("expert " + Twine(*expert) + "'s body differs from the other experts'");
    }
    chains[*expert] = std::move(*chain);
  }
  int64_t numChains = hitParts.value_or(numExperts);
  for (int64_t expert = 0; expert < numChains; ++expert)
    if (!chains[expert])
      return fail((hitParts ? "part " : "expert ") + Twine(expert) + " of " + Twine(numChains) +
                  " has no chain");
  chains.resize(numChains);

  // The running sum starts at zeros like the tokens and takes every expert exactly once.
  Value sum;
  for (const std::optional<ExpertChain> &chain : chains)
    if (isZerosLike(chain->sumBefore, tokens))
      sum = chain->sumBefore;
  for (int64_t step = 0; sum && step < numChains; ++step) {
    auto next = llvm::find_if(chains, [&](const std::optional<ExpertChain> &chain) {
      return chain->sumBefore == sum;
    });
    sum = next == chains.end() ? Value() : (*next)->sumAfter;
  }
  if (!sum)
    return fail("the experts' outputs do not add up in one sum that starts at zeros");
  layer.experts = llvm::map_to_vector(chains, [](std::optional<ExpertChain> &chain) {
    return std::move(*chain);
  });
  if (hitParts) {
    // Every part reads the same stacks; expert e's body is theirs at e.
    for (const ExpertChain &chain : layer.experts)
      if (!haveSameMatrices(chain.body, layer.experts.front().body))
        return fail("the parts of the loop over the experts hit read different stacks");
    ExpertChain first = layer.experts.front();
    layer.experts.clear();
    for (int64_t expert = 0; expert < numExperts; ++expert) {
      layer.experts.push_back(first);
      ExpertBody &body = layer.experts.back().body;
      for (Linear *linear : {&body.up, &body.down, body.gate ? &*body.gate : nullptr})
        if (linear)
          linear->expertOfStack = expert;
    }
  }
  layer.shared = matchSharedExpert(sum, tokens, layer.experts.front().body);
  layer.routedSum = sum;
  if (sum.getType() != tokens.getType())
    return fail("the layer's output type differs from its input's");
  return layer;
}

//===----------------------------------------------------------------------===//
// Rewriting
//===----------------------------------------------------------------------===//

/// Columns `first, first + step, ...` of `linear`'s weight as moe.layer takes it,
/// `[in, out]`.
static SourceColumns weightColumns(const Linear &linear, int64_t first, int64_t step) {
  return SourceColumns::ofMatrix(*getConstantBytes(linear.weight), linear.getWeightOffset(),
                                 linear.getInSize(),
                                 linear.getOutSize(), linear.weightIsOutIn, first, step);
}

/// Columns `first, first + step, ...` of `linear`'s bias as one `[1, out]` row.
static SourceColumns biasColumns(const Linear &linear, int64_t first, int64_t step) {
  return SourceColumns::ofMatrix(*getConstantBytes(linear.bias), 0, 1, linear.getOutSize(),
                                 /*transposed=*/false, first, step);
}

using ColumnsOfLinear = function_ref<SourceColumns(const Linear &, int64_t first, int64_t step)>;

/// The up projection in moe.layer's layout: gate columns first, then up columns.
static ExpertColumns upColumns(const ExpertBody &body, ColumnsOfLinear columnsOf) {
  if (body.interleaved)
    return {columnsOf(body.up, 0, 2), columnsOf(body.up, 1, 2)};
  if (body.gate)
    return {columnsOf(*body.gate, 0, 1), columnsOf(body.up, 0, 1)};
  return {columnsOf(body.up, 0, 1)};
}

namespace {
/// Creates the layer's new weight constants, named after the layer's TopK node, gathered
/// straight from the model's constants (createWeightStack).
class ConstantBuilder {
public:
  ConstantBuilder(RewriterBase &rewriter, onnx::NodeOp topK, Type elementType)
      : rewriter(rewriter), loc(topK.getLoc()), prefix(topK.getName().str()),
        elementType(elementType) {}

  /// A constant of `shape` made of `experts` matrices of `rows` rows, expert e's columns
  /// being `columnsOf(e)`.
  FailureOr<Value> create(StringRef name, ArrayRef<int64_t> shape, int64_t experts, int64_t rows,
                          function_ref<ExpertColumns(int64_t)> columnsOf) {
    return createWeightStack(rewriter, loc, RankedTensorType::get(shape, elementType),
                             prefix + "/moe." + name.str(), experts, rows, columnsOf);
  }

  /// A `[rows, columns]` constant.
  FailureOr<Value> create(StringRef name, int64_t rows, const ExpertColumns &columns) {
    return create(name, {rows, countColumns(columns)}, 1, rows,
                  [&](int64_t) { return columns; });
  }

  /// One `[E, rows, N]` constant (`[E, N]` when `dropRows`) of every expert's columns.
  FailureOr<Value> stack(StringRef name, ArrayRef<ExpertChain> experts, int64_t rows,
                         function_ref<ExpertColumns(const ExpertBody &)> columnsOf,
                         bool dropRows = false) {
    SmallVector<int64_t> shape{int64_t(experts.size())};
    if (!dropRows)
      shape.push_back(rows);
    shape.push_back(countColumns(columnsOf(experts.front().body)));
    return create(name, shape, experts.size(), rows,
                  [&](int64_t expert) { return columnsOf(experts[expert].body); });
  }

private:
  RewriterBase &rewriter;
  Location loc;
  std::string prefix;
  Type elementType;
};
} // namespace

static LogicalResult rewriteHFMoELayer(RewriterBase &rewriter, const HFMoELayer &layer) {
  const Routing &routing = layer.routing;
  const ExpertBody &body = layer.experts.front().body;
  Value tokens = routing.router.input;
  auto tokensType = llvm::cast<RankedTensorType>(tokens.getType());
  // Op handles are values whose accessors are not const.
  onnx::NodeOp topK = layer.topK;
  rewriter.setInsertionPointAfter(layer.routedSum.getDefiningOp());
  ConstantBuilder constants(rewriter, topK, tokensType.getElementType());

  int64_t numExperts = routing.getNumExperts(), hidden = routing.router.getInSize();
  // moe.layer's router is `[E, H]`: the Linear's `[out, in]`.
  FailureOr<Value> routerWeight = constants.create(
      "router_weight", numExperts,
      {SourceColumns::ofMatrix(*getConstantBytes(routing.router.weight), 0, numExperts, hidden,
                               /*transposed=*/!routing.router.weightIsOutIn)});
  FailureOr<Value> upWeight =
      constants.stack("up_weight", layer.experts, hidden, [](const ExpertBody &expert) {
        return upColumns(expert, weightColumns);
      });
  FailureOr<Value> downWeight = constants.stack(
      "down_weight", layer.experts, body.down.getInSize(),
      [](const ExpertBody &expert) { return ExpertColumns{weightColumns(expert.down, 0, 1)}; });
  if (failed(routerWeight) || failed(upWeight) || failed(downWeight))
    return failure();
  // The optional operands: null when absent, and when they could not be built (`built`
  // then says so).
  bool built = true;
  auto operand = [&](FailureOr<Value> value) {
    built = built && succeeded(value);
    return succeeded(value) ? *value : Value();
  };
  Value routerBias, scoreBias, upBias, downBias, sharedUp, sharedDown, sharedGate;
  if (routing.router.bias)
    routerBias = operand(constants.create("router_bias", {numExperts}, 1, 1, [&](int64_t) {
      return ExpertColumns{biasColumns(routing.router, 0, 1)};
    }));
  if (routing.scoreBias)
    scoreBias = operand(constants.create("score_bias", {numExperts}, 1, 1, [&](int64_t) {
      return ExpertColumns{SourceColumns::ofMatrix(*getConstantBytes(routing.scoreBias), 0, 1,
                                                   numExperts, /*transposed=*/false)};
    }));
  if (body.up.bias)
    upBias = operand(constants.stack(
        "up_bias", layer.experts, 1,
        [](const ExpertBody &expert) { return upColumns(expert, biasColumns); },
        /*dropRows=*/true));
  if (body.down.bias)
    downBias = operand(constants.stack(
        "down_bias", layer.experts, 1,
        [](const ExpertBody &expert) { return ExpertColumns{biasColumns(expert.down, 0, 1)}; },
        /*dropRows=*/true));
  if (layer.shared) {
    FailureOr<SharedExpertWeights> shared = buildSharedExpertWeights(
        rewriter, topK.getLoc(), (topK.getName() + "/moe.").str(), *layer.shared);
    built = built && succeeded(shared);
    if (succeeded(shared)) {
      sharedUp = shared->up;
      sharedDown = shared->down;
      sharedGate = shared->gate;
    }
  }
  if (!built)
    return failure();
  auto moeLayer = moe::LayerOp::create(
      rewriter, topK.getLoc(), tokensType, tokens, *upWeight, *downWeight, *routerWeight,
      /*router_logits=*/Value(), routerBias, scoreBias, upBias, downBias, sharedUp, sharedDown,
      sharedGate, routing.getAttr(rewriter.getContext()),
      body.getAttr(rewriter.getContext()));
  if (layer.shared)
    rewriter.replaceAllUsesWith(layer.shared->result, layer.shared->unflattenedSum
                                                          ? layer.shared->unflattenedSum
                                                          : moeLayer.getResult());
  rewriter.replaceAllUsesWith(layer.routedSum, moeLayer.getResult());
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

/// Whether `node` chooses experts (ExpertChoice.h; a TopK's indices are its last result)
/// that feed a OneHot, the start of every loop-over-experts export.
static bool isExpertChoice(onnx::NodeOp node) {
  if (node->getNumResults() == 0)
    return false;
  Value ids = node->getResult(node->getNumResults() - 1);
  return getExpertChoice(ids) == node && !getUsers(ids, "OneHot").empty();
}

/// Whether the layer's constants can hold its weights as moe.layer needs them: every
/// weight has the tokens' element type.
static LogicalResult checkElementTypes(const HFMoELayer &layer, Reason &reason) {
  Type element = getElementTypeOrSelf(layer.routing.router.input.getType());
  auto same = [&](const Linear &linear) {
    return getElementTypeOrSelf(linear.weight.getType()) == element &&
           (!linear.bias || getElementTypeOrSelf(linear.bias.getType()) == element);
  };
  bool ok = same(layer.routing.router) &&
            (!layer.routing.scoreBias ||
             getElementTypeOrSelf(layer.routing.scoreBias.getType()) == element) &&
            same(layer.experts.front().body.up) && same(layer.experts.front().body.down) &&
            (!layer.experts.front().body.gate || same(*layer.experts.front().body.gate));
  if (layer.shared)
    ok = ok && same(layer.shared->body.up) && same(layer.shared->body.down) &&
         (!layer.shared->body.gate || same(*layer.shared->body.gate)) &&
         (!layer.shared->gate || same(*layer.shared->gate));
  if (!ok)
    reason = "weights and tokens have different element types";
  return success(ok);
}

namespace {
/// Raises one loop over experts, anchored on the TopK that chooses the experts: the layer's
/// routed sum (and shared expert) are replaced, and the per-expert graph left dead is erased
/// by the driver. A layer whose weights cannot be written is an error and sets `sawError`,
/// which fails the pass.
struct RaiseHFMoELayer : RaisePattern {
  using RaisePattern::RaisePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp topK, PatternRewriter &rewriter) const override {
    if (sawError || !isExpertChoice(topK))
      return failure();
    Reason reason;
    FailureOr<HFMoELayer> layer = matchHFMoELayer(topK, reason);
    if (failed(layer) || failed(checkElementTypes(*layer, reason))) {
      remarks.notRaised(topK, "not raised: " + describe(topK) + ": " + reason);
      return failure();
    }
    if (failed(rewriteHFMoELayer(rewriter, *layer))) {
      sawError = true;
      return failure();
    }
    return success();
  }
};

struct RaiseHFMoEPass : moec::impl::RaiseHFMoEBase<RaiseHFMoEPass> {
  void runOnOperation() override {
    if (failed(applyRaisePattern<RaiseHFMoELayer>(getOperation())))
      signalPassFailure();
  }
};
} // namespace
