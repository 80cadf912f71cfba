//===- ExpandFunctionOps.cpp - ONNX's newer function ops as older nodes ---===//
//
// Ops that ONNX added from opset 23 on and defines as functions of older ops (Swish,
// SwiGLU, RMSNormalization, RotaryEmbedding, TensorScatter, Attention, CausalConvWithState)
// rewritten into those ops, so that legalization needs to know only the older ones. Each expansion
// first checks the forms it supports (one diagnostic naming the node for any other), then a pattern
// rewrites it (NodeExpansion.h).
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "NodeExpansion.h"

#include "mlir/IR/TypeUtilities.h"

#include <cmath>

namespace moec {
#define GEN_PASS_DEF_EXPANDFUNCTIONOPS
#include "passes/onnx/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::expansion;

namespace {

/// Fails unless input `index` is a tensor of floats, whose type the constants take.
LogicalResult checkFloatInput(onnx::NodeOp node, unsigned index) {
  if (isa<FloatType>(getElementTypeOrSelf(node.getInputs()[index])))
    return success();
  return fail(node, "input " + Twine(index) + " must be a tensor of floats");
}

/// Swish(X) (24): x · sigmoid(alpha · x).
LogicalResult checkSwish(onnx::NodeOp node) { return checkFloatInput(node, 0); }

Replacements expandSwish(onnx::NodeOp node, NodeBuilder &builder) {
  Value x = node.getInputs()[0];
  return {buildSwish(builder, x, node.getFloatAttr("alpha", 1.0), getElementTypeOrSelf(x))};
}

/// SwiGLU(A, B) (28): Swish(A) · B, of inputs of one shape.
Replacements expandSwiGLU(onnx::NodeOp node, NodeBuilder &builder) {
  Value gate = node.getInputs()[0];
  Value swish =
      buildSwish(builder, gate, node.getFloatAttr("alpha", 1.0), getElementTypeOrSelf(gate));
  return {builder.create("Mul", {swish, node.getInputs()[1]})};
}

/// RMSNormalization(X, scale) (23): X over its root mean square along the dims from
/// `axis` on, times scale; in float32 when stash_type is 1 (the default).
LogicalResult checkRMSNormalization(onnx::NodeOp node) {
  if (failed(checkRank(node, 0, 1)) || failed(checkFloatInput(node, 0)))
    return failure();
  int64_t rank = getRanked(node.getInputs()[0]).getRank();
  int64_t axis = node.getIntAttr("axis", -1);
  if (axis < -rank || axis >= rank)
    return fail(node, "axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
  return success();
}

Replacements expandRMSNormalization(onnx::NodeOp node, NodeBuilder &builder) {
  Value input = node.getInputs()[0];
  RankedTensorType type = getRanked(input);
  int64_t axis = node.getIntAttr("axis", -1);
  auto [output, inverseRMS] = buildRMSNormalization(
      builder, input, type, node.getInputs()[1], axis < 0 ? axis + type.getRank() : axis,
      node.getFloatAttr("epsilon", 1e-5), node.getIntAttr("stash_type", 1) == 1);
  return {output};
}

/// The head size of RotaryEmbedding's input: dim 3 of [B, N, S, H], hidden / num_heads of
/// [B, S, hidden]; dynamic when unknown.
int64_t getRotaryHeadSize(onnx::NodeOp node) {
  RankedTensorType input = getRanked(node.getInputs()[0]);
  if (input.getRank() == 4)
    return input.getDimSize(3);
  int64_t hidden = input.getDimSize(2), heads = node.getIntAttr("num_heads", 0);
  return ShapedType::isDynamic(hidden) ? hidden : hidden / heads;
}

/// RotaryEmbedding(X, cos_cache, sin_cache, position_ids?) (23): X [B, N, S, H], or
/// [B, S, N·H] with num_heads; the caches [max position + 1, rotary dim / 2] gathered at
/// position_ids [B, S], or without them [B, S, rotary dim / 2] as they are. The first
/// rotary_embedding_dim (all when 0) entries of each head rotate.
LogicalResult checkRotaryEmbedding(onnx::NodeOp node) {
  if (failed(checkRank(node, 0, 3, 4)) || failed(checkFloatInput(node, 0)))
    return failure();
  bool hasPositions = node.hasInput(3);
  if (failed(checkRank(node, 1, hasPositions ? 2 : 3, hasPositions ? 2 : 3)))
    return failure();
  int64_t heads = node.getIntAttr("num_heads", 0);
  RankedTensorType input = getRanked(node.getInputs()[0]);
  if (input.getRank() == 3 && heads <= 0)
    return fail(node, "a 3-D input needs num_heads");
  int64_t headSize = getRotaryHeadSize(node);
  if (ShapedType::isDynamic(headSize))
    return fail(node, "the head size of the input must be known");
  int64_t rotaryDim = node.getIntAttr("rotary_embedding_dim", 0);
  if (rotaryDim < 0 || rotaryDim > headSize || rotaryDim % 2 != 0)
    return fail(node, "rotary_embedding_dim " + Twine(rotaryDim) +
                          " must be even and at most the head size " + Twine(headSize));
  return success();
}

Replacements expandRotaryEmbedding(onnx::NodeOp node, NodeBuilder &builder) {
  Value input = node.getInputs()[0];
  RankedTensorType inputType = getRanked(input);
  int64_t headSize = getRotaryHeadSize(node);
  int64_t rotaryDim = node.getIntAttr("rotary_embedding_dim", 0);
  if (rotaryDim == 0)
    rotaryDim = headSize;
  bool interleaved = node.getIntAttr("interleaved", 0) != 0;
  // The angles, [B, S, rotary dim / 2], aligned with the heads of [B, N, S, H] or
  // [B, S, N, H].
  Value cos = node.getInputs()[1], sin = node.getInputs()[2];
  if (Value positions = node.getOptionalInput(3)) {
    cos = builder.create("Gather", {cos, positions});
    sin = builder.create("Gather", {sin, positions});
  }
  bool packedHeads = inputType.getRank() == 3;
  int64_t headAxis = packedHeads ? 2 : 1;
  cos = builder.unsqueeze(cos, {headAxis});
  sin = builder.unsqueeze(sin, {headAxis});
  if (!packedHeads)
    return {buildRotation(builder, input, cos, sin, rotaryDim, headSize, interleaved)};
  int64_t hidden = inputType.getDimSize(2);
  Value split = builder.reshape(input, {0, 0, hidden / headSize, headSize});
  Value rotated = buildRotation(builder, split, cos, sin, rotaryDim, headSize, interleaved);
  return {builder.reshape(rotated, {0, 0, hidden})};
}

/// TensorScatter(past_cache, update, write_indices?) (24): the past cache with row b's
/// update written along `axis` from write_indices[b] (0 without them), wrapping around
/// the cache's length in `circular` mode.
LogicalResult checkTensorScatter(onnx::NodeOp node) {
  if (failed(checkRank(node, 0, 2)) || failed(checkRank(node, 1, 2)))
    return failure();
  int64_t rank = getRanked(node.getInputs()[0]).getRank();
  int64_t axis = node.getIntAttr("axis", -2);
  if (axis < -rank || axis >= rank || axis == 0 || axis == -rank)
    return fail(node, "axis " + Twine(axis) + " must be a dim of rank " + Twine(rank) +
                          " other than the batch dim 0");
  if (getRanked(node.getInputs()[1]).getRank() != rank)
    return fail(node, "the update must have the cache's rank " + Twine(rank));
  StringRef mode = node.getStringAttr("mode", "linear");
  if (mode != "linear" && mode != "circular")
    return fail(node, "unknown mode '" + mode + "'");
  return success();
}

Replacements expandTensorScatter(onnx::NodeOp node, NodeBuilder &builder) {
  Value cache = node.getInputs()[0], update = node.getInputs()[1];
  int64_t rank = getRanked(cache).getRank();
  int64_t axis = node.getIntAttr("axis", -2);
  if (axis < 0)
    axis += rank;
  // Where each update entry goes along `axis`: [B or 1, S], write_indices[b] + s.
  Value length = builder.create("Gather", {builder.create("Shape", update), builder.ints({axis}, true)});
  Value positions = builder.unsqueeze(
      builder.create("Range", {builder.ints({0}, true), length, builder.ints({1}, true)}), {0});
  if (Value writeIndices = node.getOptionalInput(2))
    positions = builder.create(
        "Add", {builder.unsqueeze(builder.cast(writeIndices, kOnnxInt64), {1}), positions});
  if (node.getStringAttr("mode", "linear") == "circular")
    positions = builder.create(
        "Mod", {positions, builder.create("Gather", {builder.create("Shape", cache),
                                                     builder.ints({axis}, true)})});
  // [B or 1, 1, ..., S (at axis), ..., 1], expanded to the update's shape.
  SmallVector<int64_t> otherAxes;
  for (int64_t dim = 1; dim < rank; ++dim)
    if (dim != axis)
      otherAxes.push_back(dim);
  Value indices = builder.create(
      "Expand", {builder.unsqueeze(positions, otherAxes), builder.create("Shape", update)});
  return {builder.create("ScatterElements", {cache, indices, update},
                         {builder.attr("axis", axis)})};
}

/// CausalConvWithState(input, weight, bias?, past_state?) (27): input [B, C, L], weight
/// [C, 1, k], the states [B, C, k - 1]; the output through SiLU for activation silu or swish.
LogicalResult checkCausalConvWithState(onnx::NodeOp node) {
  if (failed(checkCausalConvActivation(node)) || failed(checkFloatInput(node, 0)) ||
      failed(checkRank(node, 0, 3, 3)) || failed(checkRank(node, 1, 3, 3)) ||
      (node.hasInput(2) && failed(checkRank(node, 2, 1, 1))) ||
      (node.hasInput(3) && failed(checkRank(node, 3, 3, 3))))
    return failure();
  if (ShapedType::isDynamic(getRanked(node.getInputs()[1]).getDimSize(2)))
    return fail(node, "the kernel size (the weight's last dim) must be known");
  return success();
}

Replacements expandCausalConvWithState(onnx::NodeOp node, NodeBuilder &builder) {
  auto [output, presentState] = buildCausalConvolution(
      builder, node.getInputs()[0], node.getInputs()[1], node.getOptionalInput(2),
      node.getOptionalInput(3), getRanked(node.getInputs()[1]).getDimSize(2), /*dilation=*/1,
      hasSiLUActivation(node));
  return {output, presentState};
}

/// Attention(Q, K, V, attn_mask?, past_key?, past_value?, nonpad_kv_seqlen?) (23, 24, 25):
/// Q [B, Nq, S, H], K [B, Nkv, L, H], V [B, Nkv, L, Hv], or each [B, S or L, heads · size]
/// with q_num_heads and kv_num_heads. The keys and values are the past ones (when given)
/// followed by the new ones, which are also the present outputs; query heads share KV
/// heads in groups of Nq / Nkv. Scores scale · Q Kᵀ, soft-capped, plus a bias that masks
/// (-inf) what attn_mask, is_causal, the window sizes and nonpad_kv_seqlen exclude, go
/// through a softmax (in softmax_precision) onto V; a query that sees no key gets zeros.
/// Output 3 gives the scores at the stage qk_matmul_output_mode names.
int64_t getAttentionHeads(onnx::NodeOp node, unsigned index) {
  RankedTensorType input = getRanked(node.getInputs()[index]);
  if (input.getRank() == 4)
    return input.getDimSize(1);
  return node.getIntAttr(index == 0 ? "q_num_heads" : "kv_num_heads", 0);
}

/// The head size of Q, K or V (input `index`); dynamic when unknown.
int64_t getAttentionHeadSize(onnx::NodeOp node, unsigned index) {
  RankedTensorType input = getRanked(node.getInputs()[index]);
  if (input.getRank() == 4)
    return input.getDimSize(3);
  int64_t hidden = input.getDimSize(2), heads = getAttentionHeads(node, index);
  return ShapedType::isDynamic(hidden) || heads <= 0 ? ShapedType::kDynamic : hidden / heads;
}

LogicalResult checkAttention(onnx::NodeOp node) {
  if (failed(checkFloatInput(node, 0)) || failed(checkRank(node, 0, 3, 4)))
    return failure();
  int64_t rank = getRanked(node.getInputs()[0]).getRank();
  for (unsigned index : {1u, 2u})
    if (failed(checkRank(node, index, rank, rank)))
      return failure();
  int64_t heads = getAttentionHeads(node, 0), kvHeads = getAttentionHeads(node, 1);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(kvHeads) || heads <= 0 ||
      kvHeads <= 0 || heads % kvHeads != 0)
    return fail(node, "the numbers of query and key heads must be known, the first a "
                      "multiple of the second");
  for (unsigned index : {0u, 1u, 2u})
    if (ShapedType::isDynamic(getAttentionHeadSize(node, index)))
      return fail(node, "the head size of input " + Twine(index) + " must be known");
  if (node.hasInput(4) != node.hasInput(5))
    return fail(node, "past_key and past_value must both be given, or neither");
  if (node.hasInput(6) && node.hasInput(4))
    return fail(node, "nonpad_kv_seqlen cannot be given with a past cache");
  if (int64_t mode = node.getIntAttr("qk_matmul_output_mode", 0); mode < 0 || mode > 3)
    return fail(node, "unknown qk_matmul_output_mode " + Twine(mode));
  return success();
}

/// Splits [B, S, N · size] into heads, [B, N, S, size]; a 4-D input as it is.
Value splitAttentionHeads(NodeBuilder &builder, Value input, int64_t heads, int64_t size) {
  if (getRanked(input).getRank() == 4)
    return input;
  return builder.transpose(builder.reshape(input, {0, 0, heads, size}), {0, 2, 1, 3});
}

/// Dim `dim` of `value`'s shape, as a 1-D tensor of one int64.
Value getDim(NodeBuilder &builder, Value value, int64_t dim) {
  return builder.create("Gather", {builder.create("Shape", value), builder.ints({dim})});
}

/// `bias` plus `term`, or `term` alone when there is no bias yet.
Value addBias(NodeBuilder &builder, Value bias, Value term) {
  return bias ? builder.create("Add", {bias, term}) : term;
}

/// The additive bias of the keys that `allowed` (bool) permits: 0 there, -inf elsewhere.
Value maskToBias(NodeBuilder &builder, Value allowed, Type type) {
  return builder.create("Where", {allowed, builder.scalar(0.0, type),
                                  builder.scalar(-INFINITY, type)});
}

/// The number of keys of Attention, past and new, when the input types give it; else
/// dynamic.
int64_t getStaticKeyCount(onnx::NodeOp node) {
  RankedTensorType key = getRanked(node.getInputs()[1]);
  int64_t count = key.getDimSize(key.getRank() == 4 ? 2 : 1);
  if (Value pastKey = node.getOptionalInput(4))
    count = ShapedType::isDynamic(count) || !getRanked(pastKey) ||
                    ShapedType::isDynamic(getRanked(pastKey).getDimSize(2))
                ? ShapedType::kDynamic
                : count + getRanked(pastKey).getDimSize(2);
  return count;
}

/// attn_mask as an additive bias of `type`, its last dim padded with -inf to `total`
/// keys (`staticTotal` when known).
Value buildAttentionMaskBias(NodeBuilder &builder, Value mask, Type type, Value total,
                             int64_t staticTotal) {
  RankedTensorType maskType = getRanked(mask);
  Value bias = maskType.getElementType().isInteger(1) ? maskToBias(builder, mask, type) : mask;
  int64_t rank = maskType.getRank();
  if (!ShapedType::isDynamic(staticTotal) && maskType.getDimSize(rank - 1) == staticTotal)
    return bias;
  Value missing = builder.create("Sub", {total, getDim(builder, mask, rank - 1)});
  Value padShape = builder.create(
      "Concat",
      {builder.slice(builder.create("Shape", mask), 0, 0, rank - 1), missing},
      {builder.attr("axis", 0)});
  Value padding = builder.create("Expand", {builder.scalar(-INFINITY, type), padShape});
  return builder.create("Concat", {bias, padding}, {builder.attr("axis", -1)});
}

Replacements expandAttention(onnx::NodeOp node, NodeBuilder &builder) {
  Value query = node.getInputs()[0];
  Type type = getElementTypeOrSelf(query);
  bool packedHeads = getRanked(query).getRank() == 3;
  int64_t heads = getAttentionHeads(node, 0), kvHeads = getAttentionHeads(node, 1);
  int64_t headSize = getAttentionHeadSize(node, 0);
  int64_t keySize = getAttentionHeadSize(node, 1), valueSize = getAttentionHeadSize(node, 2);
  query = splitAttentionHeads(builder, query, heads, headSize);
  Value keys = splitAttentionHeads(builder, node.getInputs()[1], kvHeads, keySize);
  Value values = splitAttentionHeads(builder, node.getInputs()[2], kvHeads, valueSize);
  Value pastKey = node.getOptionalInput(4);
  if (pastKey) {
    keys = builder.create("Concat", {pastKey, keys}, {builder.attr("axis", 2)});
    values = builder.create("Concat", {node.getInputs()[5], values}, {builder.attr("axis", 2)});
  }
  Value presentKey = keys, presentValue = values;

  // The bias, [S, L] or broadcasting to [B, Nq, S, L]; null when nothing is masked.
  Value queryLength = getDim(builder, query, 2), total = getDim(builder, keys, 2);
  Value bias;
  if (Value mask = node.getOptionalInput(3))
    bias = buildAttentionMaskBias(builder, mask, type, total, getStaticKeyCount(node));
  int64_t left = node.getIntAttr("left_window_size", -1);
  int64_t right = node.getIntAttr("right_window_size", -1);
  Value validLengths = node.getOptionalInput(6);
  if (node.getIntAttr("is_causal", 0) || left >= 0 || right >= 0) {
    // Query i sits at position offset + i: after the past keys, or, with nonpad_kv_seqlen,
    // last among each row's valid ones ([B, 1, 1] offsets).
    Value offset = builder.ints({0});
    if (pastKey)
      offset = getDim(builder, pastKey, 2);
    else if (validLengths)
      offset = builder.unsqueeze(
          builder.create("Sub", {builder.cast(validLengths, kOnnxInt64), queryLength}), {1, 2});
    Value zero = builder.ints({0}, true), one = builder.ints({1}, true);
    Value rows = builder.unsqueeze(
        builder.create("Range", {zero, builder.create("Squeeze", {queryLength, builder.ints({0})}), one}),
        {1});
    Value columns = builder.create(
        "Range", {zero, builder.create("Squeeze", {total, builder.ints({0})}), one});
    // How far each key is behind each query, [S, L] or [B, S, L].
    Value behind = builder.create("Sub", {builder.create("Add", {rows, offset}), columns});
    Value allowed;
    auto require = [&](Value condition) {
      allowed = allowed ? builder.create("And", {allowed, condition}) : condition;
    };
    if (node.getIntAttr("is_causal", 0))
      require(builder.create("GreaterOrEqual", {behind, zero}));
    if (left >= 0)
      require(builder.create("LessOrEqual", {behind, builder.ints({left}, true)}));
    if (right >= 0)
      require(builder.create("GreaterOrEqual", {behind, builder.ints({-right}, true)}));
    Value positional = maskToBias(builder, allowed, type);
    if (validLengths && !pastKey)
      positional = builder.unsqueeze(positional, {1});
    bias = addBias(builder, bias, positional);
  }
  if (validLengths) {
    Value columns = builder.create(
        "Range", {builder.ints({0}, true), builder.create("Squeeze", {total, builder.ints({0})}),
                  builder.ints({1}, true)});
    Value valid = builder.create(
        "Less", {columns, builder.unsqueeze(builder.cast(validLengths, kOnnxInt64), {1})});
    bias = addBias(builder, bias, builder.unsqueeze(maskToBias(builder, valid, type), {1, 2}));
  }

  // Each KV head repeated for its group of query heads: [B, Nq, L, size].
  auto repeatHeads = [&](Value input, int64_t size) {
    if (heads == kvHeads)
      return input;
    Value grouped = builder.create(
        "Expand", {builder.unsqueeze(input, {2}), builder.ints({1, 1, heads / kvHeads, 1, 1})});
    return builder.reshape(grouped, {0, heads, -1, size});
  };
  keys = repeatHeads(keys, keySize);
  values = repeatHeads(values, valueSize);

  // Q and K each scaled by √scale before their product, as the spec asks (against
  // overflow; in float16 it also rounds as ONNX's reference does).
  double scale = node.getFloatAttr("scale", 1.0 / std::sqrt(static_cast<double>(headSize)));
  Value rootScale = builder.scalar(std::sqrt(scale), type);
  Value scores = builder.create(
      "MatMul", {builder.create("Mul", {query, rootScale}),
                 builder.transpose(builder.create("Mul", {keys, rootScale}), {0, 1, 3, 2})});
  if (double softcap = node.getFloatAttr("softcap", 0.0); softcap > 0.0) {
    Value cap = builder.scalar(softcap, type);
    scores = builder.create("Mul", {builder.create("Tanh", builder.create("Div", {scores, cap})), cap});
  }
  int64_t outputMode = node.getIntAttr("qk_matmul_output_mode", 0);
  Value exposed = scores;
  Value biased = bias ? builder.create("Add", {scores, bias}) : scores;
  if (outputMode == 2)
    exposed = biased;

  int64_t precision = node.getIntAttr("softmax_precision", 0);
  Value logits = precision ? builder.cast(biased, precision) : biased;
  Value weights = builder.create("Softmax", logits, {builder.attr("axis", -1)});
  if (precision)
    weights = builder.create("CastLike", {weights, query});
  if (bias) {
    // A query whose keys are all masked gets zeros, not the softmax's NaNs.
    Value unseen = builder.create(
        "Equal", {builder.reduce("ReduceMax", bias, {-1}), builder.scalar(-INFINITY, type)});
    weights = builder.create("Where", {unseen, builder.scalar(0.0, type), weights});
  }
  if (outputMode == 3)
    exposed = weights;

  Value output = builder.create("MatMul", {weights, values});
  if (packedHeads)
    output = builder.reshape(builder.transpose(output, {0, 2, 1, 3}), {0, 0, heads * valueSize});
  return {output, presentKey, presentValue, exposed};
}

const Expansion kExpansions[] = {
    {"", "Swish", checkSwish, expandSwish},
    {"", "SwiGLU", checkSwish, expandSwiGLU},
    {"", "RMSNormalization", checkRMSNormalization, expandRMSNormalization},
    {"", "RotaryEmbedding", checkRotaryEmbedding, expandRotaryEmbedding},
    {"", "TensorScatter", checkTensorScatter, expandTensorScatter},
    {"", "Attention", checkAttention, expandAttention},
    {"", "CausalConvWithState", checkCausalConvWithState, expandCausalConvWithState},
};

struct ExpandFunctionOps : moec::impl::ExpandFunctionOpsBase<ExpandFunctionOps> {
  void runOnOperation() override {
    if (failed(expansion::expandNodes(getOperation(), kExpansions)))
      signalPassFailure();
  }
};

} // namespace

std::vector<std::string> moec::getExpandedFunctionOpTypes() {
  std::vector<std::string> opTypes;
  for (const Expansion &expansion : kExpansions)
    opTypes.push_back(expansion.opType.str());
  return opTypes;
}
