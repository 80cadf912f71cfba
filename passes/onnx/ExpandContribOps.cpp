//===- ExpandContribOps.cpp - onnxruntime's contrib ops as ONNX nodes -----===//
//
// onnxruntime's fused ops (docs: onnxruntime's ContribOperators.md) rewritten into the
// default-domain nodes they fuse, so that type inference and legalization need to know only
// ONNX's ops. Each expansion first checks the forms it supports (one diagnostic naming the
// node for any other), then a pattern rewrites it (NodeExpansion.h).
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "NodeExpansion.h"

#include "mlir/IR/TypeUtilities.h"

#include <cmath>
#include <limits>

namespace moec {
#define GEN_PASS_DEF_EXPANDCONTRIBOPS
#include "passes/onnx/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::expansion;

namespace {

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

/// ONNX-domain SimplifiedLayerNormalization(X, scale): RMS normalization over the dims
/// from `axis` on; output 1 the inverse root mean square.
LogicalResult checkSimplifiedLayerNormalization(onnx::NodeOp node) {
  if (failed(checkRank(node, 0, 1)))
    return failure();
  int64_t rank = getRanked(node.getInputs()[0]).getRank();
  int64_t axis = node.getIntAttr("axis", -1);
  if (axis < -rank || axis >= rank)
    return fail(node, "axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
  return success();
}

Replacements expandSimplifiedLayerNormalization(onnx::NodeOp node, NodeBuilder &builder) {
  Value input = node.getInputs()[0];
  RankedTensorType type = getRanked(input);
  int64_t rank = type.getRank();
  int64_t axis = node.getIntAttr("axis", -1);
  auto [output, inverseRMS] = buildRMSNormalization(
      builder, input, type, node.getInputs()[1], axis < 0 ? axis + rank : axis,
      node.getFloatAttr("epsilon", 1e-5), node.getIntAttr("stash_type", 1) == 1);
  return {output, inverseRMS};
}

/// The sum of the input, skip and (when present) bias of Skip(Simplified)LayerNormalization.
Value buildSkipSum(onnx::NodeOp node, NodeBuilder &builder, unsigned biasIndex) {
  Value sum = builder.create("Add", {node.getInputs()[0], node.getInputs()[1]});
  if (Value bias = node.getOptionalInput(biasIndex))
    sum = builder.create("Add", {sum, bias});
  return sum;
}

/// SkipSimplifiedLayerNormalization(input, skip, gamma, bias?): RMS normalization of
/// input + skip + bias over the last dim; outputs: normalized, mean, inverse RMS, sum.
LogicalResult checkSkipSimplifiedLayerNormalization(onnx::NodeOp node) {
  return success(succeeded(checkRank(node, 0, 2, 3)) &&
                 succeeded(checkUnused(node, 1, "mean")));
}

Replacements expandSkipSimplifiedLayerNormalization(onnx::NodeOp node, NodeBuilder &builder) {
  Value sum = buildSkipSum(node, builder, /*biasIndex=*/3);
  RankedTensorType type = getRanked(node.getInputs()[0]);
  auto [output, inverseRMS] =
      buildRMSNormalization(builder, sum, type, node.getInputs()[2], type.getRank() - 1,
                            node.getFloatAttr("epsilon", 1e-5), /*inFloat32=*/true);
  return {output, Value(), inverseRMS, sum};
}

/// SkipLayerNormalization(input, skip, gamma, beta?, bias?): LayerNormalization of
/// input + skip + bias over the last dim; outputs: normalized, mean, inverse standard
/// deviation, sum.
LogicalResult checkSkipLayerNormalization(onnx::NodeOp node) {
  if (getDefaultOpset(node) < 17)
    return fail(node, "expanding it takes LayerNormalization, from ONNX opset 17");
  return checkRank(node, 0, 2, 3);
}

Replacements expandSkipLayerNormalization(onnx::NodeOp node, NodeBuilder &builder) {
  Value sum = buildSkipSum(node, builder, /*biasIndex=*/4);
  SmallVector<Value> inputs = {sum, node.getInputs()[2]};
  if (Value beta = node.getOptionalInput(3))
    inputs.push_back(beta);
  SmallVector<Value> normalized = builder.createMany(
      "LayerNormalization", inputs, 3,
      {builder.attr("axis", -1),
       NamedAttribute(StringAttr::get(node.getContext(), "epsilon"),
                      FloatAttr::get(Float32Type::get(node.getContext()),
                                     node.getFloatAttr("epsilon", 1e-5)))});
  return {normalized[0], normalized[1], normalized[2], sum};
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

/// The element type of input 0, which the activations' constants take.
Type getInputElementType(onnx::NodeOp node) { return getElementTypeOrSelf(node.getInputs()[0]); }

/// x + bias, or x when the node has no input `biasIndex`.
Value addBias(onnx::NodeOp node, NodeBuilder &builder, unsigned biasIndex) {
  Value input = node.getInputs()[0];
  if (Value bias = node.getOptionalInput(biasIndex))
    return builder.create("Add", {input, bias});
  return input;
}

/// Gelu(X) and BiasGelu(A, B): x · (1 + erf(x / √2)) / 2 of X, or of A + B.
Replacements expandGelu(onnx::NodeOp node, NodeBuilder &builder) {
  Value x = addBias(node, builder, 1);
  Type type = getInputElementType(node);
  Value erf = builder.create(
      "Erf", builder.create("Mul", {x, builder.scalar(1.0 / std::sqrt(2.0), type)}));
  return {buildGeluTail(builder, x, erf, type)};
}

/// FastGelu(X, bias?): the tanh approximation of Gelu of X + bias,
/// x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))) / 2.
Replacements expandFastGelu(onnx::NodeOp node, NodeBuilder &builder) {
  return {buildTanhGelu(builder, addBias(node, builder, 1), getInputElementType(node))};
}

/// QuickGelu(X): x · sigmoid(alpha · x).
Replacements expandQuickGelu(onnx::NodeOp node, NodeBuilder &builder) {
  return {buildSwish(builder, node.getInputs()[0], node.getFloatAttr("alpha", 1.702),
                     getInputElementType(node))};
}

/// Fails unless input 0 is a tensor of floats, whose type the constants take.
LogicalResult checkActivation(onnx::NodeOp node) {
  if (isa<FloatType>(getInputElementType(node)))
    return success();
  return fail(node, "input 0 must be a tensor of floats");
}

//===----------------------------------------------------------------------===//
// Matmul
//===----------------------------------------------------------------------===//

/// FusedMatMul(A, B): alpha · (A or Aᵀ) × (B or Bᵀ), transposing the last two dims.
LogicalResult checkFusedMatMul(onnx::NodeOp node) {
  if (failed(checkIntAttr(node, "transBatchA", 0)) ||
      failed(checkIntAttr(node, "transBatchB", 0)))
    return failure();
  for (unsigned index : {0u, 1u})
    if (node.getIntAttr(index == 0 ? "transA" : "transB", 0) &&
        failed(checkRank(node, index, 2)))
      return failure();
  return success();
}

Replacements expandFusedMatMul(onnx::NodeOp node, NodeBuilder &builder) {
  SmallVector<Value> operands;
  for (unsigned index : {0u, 1u}) {
    Value operand = node.getInputs()[index];
    if (node.getIntAttr(index == 0 ? "transA" : "transB", 0)) {
      int64_t rank = getRanked(operand).getRank();
      SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
      std::swap(perm[rank - 2], perm[rank - 1]);
      operand = builder.transpose(operand, perm);
    }
    operands.push_back(operand);
  }
  Value product = builder.create("MatMul", operands);
  double alpha = node.getFloatAttr("alpha", 1.0);
  if (alpha != 1.0)
    product = builder.create(
        "Mul", {product, builder.scalar(alpha, getElementTypeOrSelf(node.getInputs()[0]))});
  return {product};
}

//===----------------------------------------------------------------------===//
// Rotary embedding
//===----------------------------------------------------------------------===//

/// RotaryEmbedding(input, position_ids, cos_cache, sin_cache): input [B, S, N·H] or
/// [B, N, S, H]; position_ids [B, S], or [1] holding the first position of all sequences;
/// caches [max position, rotary dim / 2].
LogicalResult checkRotaryEmbedding(onnx::NodeOp node) {
  if (failed(checkIntAttr(node, "is_packed_batching", 0)) || failed(checkRank(node, 0, 3, 4)) ||
      failed(checkRank(node, 1, 1, 2)) || failed(checkRank(node, 2, 2, 2)))
    return failure();
  RankedTensorType input = getRanked(node.getInputs()[0]);
  int64_t half = getRanked(node.getInputs()[2]).getDimSize(1);
  int64_t heads = node.getIntAttr("num_heads", 0);
  if (ShapedType::isDynamic(half))
    return fail(node, "the size of the cos cache's last dim must be known");
  if (input.getRank() == 3 && heads > 0 && ShapedType::isDynamic(input.getDimSize(2)))
    return fail(node, "the hidden size of a 3-D input must be known");
  if (input.getRank() == 4 && ShapedType::isDynamic(input.getDimSize(3)))
    return fail(node, "the head size of a 4-D input must be known");
  return success();
}

Replacements expandRotaryEmbedding(onnx::NodeOp node, NodeBuilder &builder) {
  Value input = node.getInputs()[0], positions = node.getInputs()[1];
  RankedTensorType inputType = getRanked(input);
  bool packedHeads = inputType.getRank() == 3;
  int64_t rotaryDim = 2 * getRanked(node.getInputs()[2]).getDimSize(1);
  int64_t heads = node.getIntAttr("num_heads", 0);
  int64_t headSize = !packedHeads ? inputType.getDimSize(3)
                     : heads > 0  ? inputType.getDimSize(2) / heads
                                  : rotaryDim;
  int64_t sequenceAxis = packedHeads ? 1 : 2;

  // One position per token: [B, S] as given, or [S] counting from the one given.
  bool perBatch = getRanked(positions).getRank() == 2;
  if (!perBatch) {
    Value length = builder.create(
        "Gather", {builder.create("Shape", input), builder.ints({sequenceAxis}, true)});
    Value offsets = builder.create(
        "Range", {builder.ints({0}, true), length, builder.ints({1}, true)});
    positions = builder.create("Add", {offsets, positions});
  }
  // The angles, [B or 1, S, rotary dim / 2], aligned with the heads of [B, S, N, H] or
  // [B, N, S, H].
  Value cos = builder.create("Gather", {node.getInputs()[2], positions});
  Value sin = builder.create("Gather", {node.getInputs()[3], positions});
  if (packedHeads || perBatch) {
    int64_t headAxis = packedHeads ? -2 : 1;
    cos = builder.unsqueeze(cos, {headAxis});
    sin = builder.unsqueeze(sin, {headAxis});
  }
  if (!packedHeads)
    return {buildRotation(builder, input, cos, sin, rotaryDim, headSize,
                          node.getIntAttr("interleaved", 0) != 0)};
  // Reshape's -1 only for a hidden size that the run gives, so that inference keeps
  // static sizes static.
  int64_t hidden = inputType.getDimSize(2);
  bool dynamicHidden = ShapedType::isDynamic(hidden);
  Value split =
      builder.reshape(input, {0, 0, dynamicHidden ? -1 : hidden / headSize, headSize});
  Value rotated = buildRotation(builder, split, cos, sin, rotaryDim, headSize,
                                node.getIntAttr("interleaved", 0) != 0);
  return {builder.reshape(rotated, {0, 0, dynamicHidden ? -1 : hidden})};
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// MultiHeadAttention(query, key, value, bias?, key_padding_mask?, attention_bias?), each of
/// query, key and value [B, S or L, N·H]: softmax(scale · Q Kᵀ + attention_bias) V per
/// head.
LogicalResult checkMultiHeadAttention(onnx::NodeOp node) {
  if (failed(checkIntAttr(node, "unidirectional", 0)))
    return failure();
  for (unsigned index : {3u, 4u, 6u, 7u})
    if (node.hasInput(index))
      return fail(node, "input " + Twine(index) +
                            " (bias, key padding mask or past key and value) is not supported");
  for (unsigned index : {1u, 2u})
    if (failed(checkUnused(node, index, "present key and value")))
      return failure();
  int64_t heads = node.getIntAttr("num_heads", 0);
  for (unsigned index : {0u, 1u, 2u}) {
    if (failed(checkRank(node, index, 3, 3)))
      return failure();
    int64_t hidden = getRanked(node.getInputs()[index]).getDimSize(2);
    if (heads <= 0 || ShapedType::isDynamic(hidden) || hidden % heads != 0)
      return fail(node, "input " + Twine(index) +
                            " must have a known hidden size that num_heads divides");
  }
  return success();
}

/// Splits [B, S, N·H] into heads, [B, N, S, H] (or [B, N, H, S] when `transposed`).
Value splitHeads(NodeBuilder &builder, Value input, int64_t heads, bool transposed) {
  int64_t headSize = getRanked(input).getDimSize(2) / heads;
  Value split = builder.reshape(input, {0, 0, heads, headSize});
  return builder.transpose(split, transposed ? ArrayRef<int64_t>{0, 2, 3, 1}
                                             : ArrayRef<int64_t>{0, 2, 1, 3});
}

Replacements expandMultiHeadAttention(onnx::NodeOp node, NodeBuilder &builder) {
  int64_t heads = node.getIntAttr("num_heads", 0);
  Value query = node.getInputs()[0];
  int64_t headSize = getRanked(query).getDimSize(2) / heads;
  Type elementType = getElementTypeOrSelf(query);
  Value scores = builder.create("MatMul", {splitHeads(builder, query, heads, false),
                                           splitHeads(builder, node.getInputs()[1], heads, true)});
  double scale = node.getFloatAttr("scale", 1.0 / std::sqrt(static_cast<double>(headSize)));
  scores = builder.create("Mul", {scores, builder.scalar(scale, elementType)});
  if (Value bias = node.getOptionalInput(5))
    scores = builder.create("Add", {scores, bias});
  Value weights = builder.create("Softmax", scores, {builder.attr("axis", -1)});
  Value heads4d = builder.create(
      "MatMul", {weights, splitHeads(builder, node.getInputs()[2], heads, false)});
  Value merged = builder.transpose(heads4d, {0, 2, 1, 3});
  return {builder.reshape(merged, {0, 0, getRanked(node.getInputs()[2]).getDimSize(2)})};
}


/// GroupQueryAttention(query, key?, value?, past_key, past_value, seqlens_k,
/// total_sequence_length, cos_cache?, sin_cache?, position_ids?, attention_bias?,
/// head_sink?): query [B, S, N·H] (or Q, K and V packed, [B, S, (N + 2·Nkv)·H]), the caches
/// [B, Nkv, P, H], seqlens_k [B] each row's total length less one. Row b's new tokens
/// follow its past_b = seqlens_k[b] + 1 - S cached ones (none for a first prompt): they sit
/// at positions past_b + s (rotated there when do_rotary) and see the cached and new keys
/// up to their own position (and, with local_window_size W, the last W of them).
/// The present caches are the past ones with row b's new keys and values from past_b on.
/// With sliding_window_cache 1 the caches hold a window instead (onnxruntime's "Windowed KV
/// Cache" contract): of a row's T tokens so far, rows [0, L(T)) hold positions
/// T - L(T) + i, where L is getResidentCount's, and later rows are unspecified.
/// The head size of GroupQueryAttention: the query's hidden size over its heads, and the
/// key's and value's when packed with it; dynamic when unknown.
int64_t getGroupQueryAttentionHeadSize(onnx::NodeOp node) {
  int64_t hidden = getRanked(node.getInputs()[0]).getDimSize(2);
  int64_t heads = node.getIntAttr("num_heads", 0);
  if (!node.hasInput(1))
    heads += 2 * node.getIntAttr("kv_num_heads", 0);
  return ShapedType::isDynamic(hidden) ? hidden : hidden / heads;
}

LogicalResult checkGroupQueryAttention(onnx::NodeOp node) {
  if (getDefaultOpset(node) < 18)
    return fail(node, "expanding it takes ONNX opset 18 or newer");
  for (unsigned index = 9; index < node.getInputs().size(); ++index)
    if (index != 11 && node.hasInput(index))
      return fail(node, "input " + Twine(index) +
                            " (position ids, attention bias or a quantized cache's scales) is "
                            "not supported");
  if (node.getIntAttr("sliding_window_cache", 0) != 0 &&
      (node.getIntAttr("sliding_window_cache", 0) != 1 ||
       node.getIntAttr("local_window_size", -1) <= 0))
    return fail(node, "sliding_window_cache 1 needs a positive local_window_size");
  if (failed(checkIntAttr(node, "causal", 1)) || failed(checkIntAttr(node, "qk_output", 0)) ||
      failed(checkIntAttr(node, "kv_cache_bit_width", 0)))
    return failure();
  if (!node.hasInput(3) || !node.hasInput(4))
    return fail(node, "the past key and value (inputs 3 and 4) must be given");
  if (node.hasInput(1) != node.hasInput(2))
    return fail(node, "key and value must both be given, or both packed in the query");
  if (failed(checkRank(node, 0, 3, 3)) || failed(checkRank(node, 3, 4, 4)))
    return failure();
  int64_t heads = node.getIntAttr("num_heads", 0), kvHeads = node.getIntAttr("kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
    return fail(node, "num_heads must be a multiple of kv_num_heads");
  if (ShapedType::isDynamic(getGroupQueryAttentionHeadSize(node)))
    return fail(node, "the query's hidden size must be known");
  if (node.getIntAttr("do_rotary", 0) &&
      (failed(checkRank(node, 7, 2, 2)) ||
       ShapedType::isDynamic(getRanked(node.getInputs()[7]).getDimSize(1))))
    return fail(node, "do_rotary needs a cos cache whose last dim is known");
  return success();
}

/// How many of a row's `tokens` (int64, any shape) a window-sized cache of `capacity` rows
/// ([1]) keeps for a window of `window` positions: all while they fit; then, evicting
/// G = capacity - window + 1 positions at a time, tokens - G · ceil((tokens - capacity) / G).
Value buildResidentCount(NodeBuilder &builder, Value tokens, Value capacity, int64_t window) {
  Value one = builder.ints({1});
  Value batch = builder.create("Sub", {capacity, builder.ints({window - 1})});
  Value over = builder.create("Sub", {tokens, capacity});
  Value batches = builder.create(
      "Div", {builder.create("Sub", {builder.create("Add", {over, batch}), one}), batch});
  Value evicting = builder.create("Sub", {tokens, builder.create("Mul", {batches, batch})});
  return builder.create(
      "Where", {builder.create("LessOrEqual", {tokens, capacity}), tokens, evicting});
}

Replacements expandGroupQueryAttention(onnx::NodeOp node, NodeBuilder &builder) {
  int64_t heads = node.getIntAttr("num_heads", 0), kvHeads = node.getIntAttr("kv_num_heads", 0);
  int64_t group = heads / kvHeads;
  Value pastKey = node.getInputs()[3], pastValue = node.getInputs()[4];
  int64_t headSize = getGroupQueryAttentionHeadSize(node);
  Type elementType = getElementTypeOrSelf(pastKey);

  // Q [B, N, S, H]; the new K and V [B, Nkv, S, H].
  Value query = node.getInputs()[0], key = node.getOptionalInput(1),
        value = node.getOptionalInput(2);
  if (!key) {
    key = builder.slice(query, -1, heads * headSize, (heads + kvHeads) * headSize);
    value = builder.slice(query, -1, (heads + kvHeads) * headSize,
                          (heads + 2 * kvHeads) * headSize);
    query = builder.slice(query, -1, 0, heads * headSize);
  }
  auto splitHeads = [&](Value input, int64_t count) {
    return builder.transpose(builder.reshape(input, {0, 0, count, headSize}), {0, 2, 1, 3});
  };
  query = splitHeads(query, heads);
  key = splitHeads(key, kvHeads);
  value = splitHeads(value, kvHeads);

  // Each row's cached length, [B, 1], and its new tokens' positions, [B, S].
  Value one = builder.ints({1}), zero = builder.ints({0});
  Value length = builder.create("Gather", {builder.create("Shape", query), builder.ints({2})});
  Value totals = builder.create("Add", {builder.cast(node.getInputs()[5], kOnnxInt64), one});
  Value pasts = builder.unsqueeze(
      builder.create("Max", {builder.create("Sub", {totals, length}), zero}), {1});
  Value steps = builder.create("Range", {builder.ints({0}, true),
                                         builder.create("Squeeze", {length, zero}),
                                         builder.ints({1}, true)});
  Value queryPositions = builder.create("Add", {pasts, steps});

  if (node.getIntAttr("do_rotary", 0)) {
    Value cos = builder.unsqueeze(
        builder.create("Gather", {node.getInputs()[7], queryPositions}), {1});
    Value sin = builder.unsqueeze(
        builder.create("Gather", {node.getInputs()[8], queryPositions}), {1});
    int64_t rotaryDim = 2 * getRanked(node.getInputs()[7]).getDimSize(1);
    bool interleaved = node.getIntAttr("rotary_interleaved", 0) != 0;
    query = buildRotation(builder, query, cos, sin, rotaryDim, headSize, interleaved);
    key = buildRotation(builder, key, cos, sin, rotaryDim, headSize, interleaved);
  }

  // The past and new keys one after the other, [B, Nkv, P + S, H]. Row b's past entries
  // hold its positions from `firsts` on, of which the first `residents` are valid (all from
  // 0 up to past_b for a full-length cache; the window L(past_b) ends at past_b for a
  // windowed one); entry P + s holds position past_b + s.
  Value keys = builder.create("Concat", {pastKey, key}, {builder.attr("axis", 2)});
  Value values = builder.create("Concat", {pastValue, value}, {builder.attr("axis", 2)});
  Value pastLength = builder.create("Gather", {builder.create("Shape", pastKey), builder.ints({2})});
  bool windowedCache = node.getIntAttr("sliding_window_cache", 0) == 1;
  int64_t window = node.getIntAttr("local_window_size", -1);
  Value residents = pasts, firsts = zero;
  if (windowedCache) {
    residents = buildResidentCount(builder, pasts, pastLength, window);
    firsts = builder.create("Sub", {pasts, residents});
  }
  Value entries = builder.create(
      "Range", {builder.ints({0}, true),
                builder.create("Gather", {builder.create("Shape", keys), builder.ints({2}, true)}),
                builder.ints({1}, true)});
  Value isNew = builder.create("GreaterOrEqual", {entries, pastLength});
  Value keyPositions = builder.create(
      "Where", {isNew, builder.create("Add", {builder.create("Sub", {entries, pastLength}), pasts}),
                builder.create("Add", {entries, firsts})});
  Value visible = builder.create("Or", {isNew, builder.create("Less", {entries, residents})});

  // Which keys each query sees, [B, 1, 1, S, P + S] to match the scores' heads.
  Value queryAt = builder.unsqueeze(queryPositions, {2});
  Value keyAt = builder.unsqueeze(keyPositions, {1});
  Value seen = builder.create(
      "And", {builder.unsqueeze(visible, {1}), builder.create("LessOrEqual", {keyAt, queryAt})});
  // The window holds the W latest positions, the query's own included, as onnxruntime 1.32
  // and transformers' sliding windows have it (onnxruntime 1.23 took W + 1).
  if (window > 0)
    seen = builder.create(
        "And", {seen, builder.create("GreaterOrEqual",
                                     {keyAt, builder.create("Sub", {queryAt, builder.ints({window - 1})})})});
  seen = builder.unsqueeze(seen, {1, 2});

  // Scores per KV head and its group of query heads, [B, Nkv, G, S, P + S].
  Value groupedQuery = builder.reshape(query, {0, kvHeads, group, -1, headSize});
  Value groupedKeys = builder.transpose(builder.unsqueeze(keys, {2}), {0, 1, 2, 4, 3});
  Value scores = builder.create("MatMul", {groupedQuery, groupedKeys});
  double scale = node.getFloatAttr("scale", 0.0);
  if (scale == 0.0)
    scale = 1.0 / std::sqrt(static_cast<double>(headSize));
  scores = builder.create("Mul", {scores, builder.scalar(scale, elementType)});
  if (double softcap = node.getFloatAttr("softcap", 0.0); softcap > 0.0) {
    Value cap = builder.scalar(softcap, elementType);
    scores = builder.create(
        "Mul", {builder.create("Tanh", builder.create("Div", {scores, cap})), cap});
  }
  scores = builder.create(
      "Where", {seen, scores,
                builder.scalar(-std::numeric_limits<float>::max(), elementType)});

  // Softmax over the keys, with one more logit per head when the model has sinks (or a
  // zero one for smooth_softmax) that takes its share of the weight and gives nothing.
  Value weights;
  Value sink = node.getOptionalInput(11);
  // Its schema's default is -1; onnxruntime's kernels take only 1 as on.
  if (!sink && node.getIntAttr("smooth_softmax", -1) == 1)
    sink = builder.scalar(0.0, elementType);
  if (!sink) {
    weights = builder.create("Softmax", scores, {builder.attr("axis", -1)});
  } else {
    if (node.hasInput(11))
      sink = builder.reshape(sink, {1, kvHeads, group, 1, 1});
    Value peak = builder.create("Max", {builder.reduce("ReduceMax", scores, {-1}), sink});
    Value exps = builder.create("Exp", builder.create("Sub", {scores, peak}));
    Value total = builder.create("Add", {builder.reduce("ReduceSum", exps, {-1}),
                                         builder.create("Exp", builder.create("Sub", {sink, peak}))});
    weights = builder.create("Div", {exps, total});
  }
  Value grouped = builder.create("MatMul", {weights, builder.unsqueeze(values, {2})});
  Value perHead = builder.reshape(grouped, {0, heads, -1, headSize});
  Value output =
      builder.reshape(builder.transpose(perHead, {0, 2, 1, 3}), {0, 0, heads * headSize});

  // The present caches: row i of row b holds position firsts_b + i. Full-length, they are
  // [B, Nkv, max(total_sequence_length, P), H] from position 0; windowed, [B, Nkv, P, H]
  // from T - L(T). A position before past_b comes from the past entries, one up to T from
  // the new ones, and a row past T (unspecified in onnxruntime) from the past buffer's
  // entry of the same index, or its last entry.
  Value presentLength = pastLength;
  Value presentFirsts = zero;
  if (windowedCache) {
    presentFirsts = builder.create(
        "Sub", {builder.unsqueeze(totals, {1}),
                buildResidentCount(builder, builder.unsqueeze(totals, {1}), pastLength, window)});
  } else {
    presentLength = builder.create(
        "Max", {builder.cast(node.getInputs()[6], kOnnxInt64), pastLength});
  }
  Value presentEntries =
      builder.create("Range", {builder.ints({0}, true),
                               builder.create("Squeeze", {presentLength, zero}),
                               builder.ints({1}, true)});
  Value presentPositions = builder.create("Add", {presentEntries, presentFirsts});
  Value newEnd = builder.create("Add", {pasts, length});
  Value lastEntry = builder.create("Sub", {builder.create("Add", {pastLength, length}), one});
  Value sources = builder.create(
      "Where",
      {builder.create("Less", {presentPositions, pasts}),
       builder.create("Sub", {presentPositions, firsts}),
       builder.create(
           "Where",
           {builder.create("Less", {presentPositions, newEnd}),
            builder.create("Add", {builder.create("Sub", {presentPositions, pasts}), pastLength}),
            builder.create("Min", {presentEntries, lastEntry})})});
  Value indices = builder.create(
      "Expand", {builder.unsqueeze(sources, {1, 3}), builder.ints({1, kvHeads, 1, headSize})});
  auto present = [&](Value cache) {
    return builder.create("GatherElements", {cache, indices}, {builder.attr("axis", 2)});
  };
  return {output, present(keys), present(values)};
}

//===----------------------------------------------------------------------===//
// Recurrent layers (Gated DeltaNet, Mamba)
//===----------------------------------------------------------------------===//

/// Fails unless integer attribute `name` keeps its default: it only configures
/// onnxruntime's CUDA kernel, whose CPU kernel refuses or ignores it.
LogicalResult checkCudaOnlyAttr(onnx::NodeOp node, StringRef name, int64_t defaultValue) {
  if (node.getIntAttr(name, defaultValue) == defaultValue)
    return success();
  return fail(node, "attribute '" + name + "' is for onnxruntime's CUDA kernel only");
}

/// CausalConvWithState(input, weight, bias?, past_state?), with ndim 1 as onnxruntime's
/// CPU kernel has it: input [B, C, L], or [B, L, d1, ...] (C = d1 · ...) with
/// channels_last; weight [C, 1, k]; the states [B, C, (k - 1) · dilation], or
/// [B, (k - 1) · dilation, d1, ...] with channels_last.
LogicalResult checkCausalConvWithState(onnx::NodeOp node) {
  if (failed(checkIntAttr(node, "ndim", 1)) || failed(checkCudaOnlyAttr(node, "state_window", 0)) ||
      failed(checkCudaOnlyAttr(node, "state_update_capacity", 0)) ||
      failed(checkCudaOnlyAttr(node, "state_length", 0)) ||
      failed(checkCudaOnlyAttr(node, "state_channels_last", -1)) ||
      failed(checkCudaOnlyAttr(node, "input_channel_offset", 0)) ||
      failed(checkCudaOnlyAttr(node, "input_channels", 0)) ||
      failed(checkUnused(node, 2, "state update")))
    return failure();
  if (failed(checkCausalConvActivation(node)))
    return failure();
  if (node.getIntAttr("dilation", 1) < 1)
    return fail(node, "dilation must be at least 1");
  bool channelsLast = node.getIntAttr("channels_last", 0) != 0;
  if (failed(checkActivation(node)) ||
      failed(checkRank(node, 0, 3, channelsLast ? std::nullopt : std::optional<int64_t>(3))) ||
      failed(checkRank(node, 1, 3, 3)))
    return failure();
  if (ShapedType::isDynamic(getRanked(node.getInputs()[1]).getDimSize(2)))
    return fail(node, "the kernel size (the weight's last dim) must be known");
  int64_t rank = getRanked(node.getInputs()[0]).getRank();
  if (node.hasInput(2) && failed(checkRank(node, 2, 1, 1)))
    return failure();
  if (node.hasInput(3) && failed(checkRank(node, 3, rank, rank)))
    return failure();
  return success();
}

Replacements expandCausalConvWithState(onnx::NodeOp node, NodeBuilder &builder) {
  Value input = node.getInputs()[0], weight = node.getInputs()[1];
  Value pastState = node.getOptionalInput(3);
  int64_t kernel = getRanked(weight).getDimSize(2), dilation = node.getIntAttr("dilation", 1);
  bool silu = hasSiLUActivation(node);
  bool channelsLast = node.getIntAttr("channels_last", 0) != 0;
  if (!channelsLast) {
    auto [output, presentState] = buildCausalConvolution(
        builder, input, weight, node.getOptionalInput(2), pastState, kernel, dilation, silu);
    return {output, presentState};
  }
  // [B, L, d1, ...] as [B, C, L] and back: the channels flattened, then moved first.
  int64_t channels = getRanked(weight).getDimSize(0);
  auto toChannelsFirst = [&](Value value) {
    return builder.transpose(
        builder.reshape(value, {0, 0, ShapedType::isDynamic(channels) ? -1 : channels}), {0, 2, 1});
  };
  Value channelsFirst = toChannelsFirst(input);
  Value channelsFirstState = pastState ? toChannelsFirst(pastState) : Value();
  auto [output, presentState] =
      buildCausalConvolution(builder, channelsFirst, weight, node.getOptionalInput(2),
                             channelsFirstState, kernel, dilation, silu);
  Value inputShape = builder.create("Shape", input);
  int64_t rank = getRanked(input).getRank();
  Value stateShape =
      builder.create("Concat",
                     {builder.slice(inputShape, 0, 0, 1), builder.ints({(kernel - 1) * dilation}),
                      builder.slice(inputShape, 0, 2, rank)},
                     {builder.attr("axis", 0)});
  return {builder.create("Reshape", {builder.transpose(output, {0, 2, 1}), inputShape}),
          builder.create("Reshape", {builder.transpose(presentState, {0, 2, 1}), stateShape})};
}

/// LinearAttention(query, key, value, past_state?, decay?, beta?): query [B, T, Hq · dk],
/// key [B, T, Hk · dk], value [B, T, Hkv · dv], where Hk divides Hkv and Hq is a multiple
/// or a divisor of Hkv. ONNX's LinearAttention (opset 27) takes Hq a multiple of Hkv and
/// Hk = Hkv; so the query heads of inverse GQA, and the key heads, are repeated to Hkv,
/// head h reading query head h / (Hkv / Hq) and key head h / (Hkv / Hk) as onnxruntime's
/// kernel does.
LogicalResult checkLinearAttention(onnx::NodeOp node) {
  if (failed(checkCudaOnlyAttr(node, "state_window", 0)) || failed(checkActivation(node)))
    return failure();
  StringRef rule = node.getStringAttr("update_rule", "gated_delta");
  if (rule != "linear" && rule != "gated" && rule != "delta" && rule != "gated_delta")
    return fail(node, "update_rule '" + rule + "' is not one of linear, gated, delta, gated_delta");
  int64_t heads = node.getIntAttr("q_num_heads", 0), kvHeads = node.getIntAttr("kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0 || (heads % kvHeads != 0 && kvHeads % heads != 0))
    return fail(node, "q_num_heads and kv_num_heads must be positive, one a multiple of the other");
  for (unsigned index : {0u, 1u, 2u}) {
    if (failed(checkRank(node, index, 3, 3)))
      return failure();
    if (ShapedType::isDynamic(getRanked(node.getInputs()[index]).getDimSize(2)))
      return fail(node, "the hidden size of input " + Twine(index) + " must be known");
  }
  int64_t queryHidden = getRanked(node.getInputs()[0]).getDimSize(2);
  int64_t keyHidden = getRanked(node.getInputs()[1]).getDimSize(2);
  if (queryHidden % heads != 0 || keyHidden % (queryHidden / heads) != 0 ||
      kvHeads % (keyHidden / (queryHidden / heads)) != 0)
    return fail(node, "the key's heads (its hidden size over the query's head size) must "
                      "divide kv_num_heads");
  return success();
}

/// `input` [B, T, heads · size] with each head repeated `times` times in place.
Value repeatHeads(NodeBuilder &builder, Value input, int64_t heads, int64_t times) {
  int64_t size = getRanked(input).getDimSize(2) / heads;
  Value split = builder.reshape(input, {0, 0, heads, 1, size});
  Value repeated = builder.create("Expand", {split, builder.ints({1, 1, 1, times, 1})});
  return builder.reshape(repeated, {0, 0, heads * times * size});
}

Replacements expandLinearAttention(onnx::NodeOp node, NodeBuilder &builder) {
  int64_t heads = node.getIntAttr("q_num_heads", 0), kvHeads = node.getIntAttr("kv_num_heads", 0);
  SmallVector<Value> inputs(node.getInputs());
  int64_t keySize = getRanked(inputs[0]).getDimSize(2) / heads;
  int64_t keyHeads = getRanked(inputs[1]).getDimSize(2) / keySize;
  if (heads < kvHeads) {
    inputs[0] = repeatHeads(builder, inputs[0], heads, kvHeads / heads);
    heads = kvHeads;
  }
  if (keyHeads < kvHeads)
    inputs[1] = repeatHeads(builder, inputs[1], keyHeads, kvHeads / keyHeads);
  SmallVector<Value> results = builder.createMany(
      "LinearAttention", inputs, 2,
      {builder.attr("q_num_heads", heads), builder.attr("kv_num_heads", kvHeads),
       builder.attr("update_rule", node.getStringAttr("update_rule", "gated_delta")),
       builder.attr("scale", FloatAttr::get(Float32Type::get(node.getContext()),
                                            node.getFloatAttr("scale", 0.0)))});
  return {results[0], results[1]};
}

//===----------------------------------------------------------------------===//
// Gated DeltaNet's gates and output norm
//===----------------------------------------------------------------------===//

/// `value` in float32 (as is when it already is).
Value widenToFloat32(NodeBuilder &builder, Value value) {
  return getElementTypeOrSelf(value).isF32() ? value : builder.cast(value, kOnnxFloat);
}

/// `value` (float32) back in `like`'s element type.
Value narrowLike(NodeBuilder &builder, Value value, Value like) {
  return getElementTypeOrSelf(like).isF32() ? value : builder.create("CastLike", {value, like});
}

/// Fails unless input `index` is a float32 vector of `length` elements (either length may
/// be unknown until run time).
LogicalResult checkFloat32Vector(onnx::NodeOp node, unsigned index, int64_t length) {
  if (failed(checkRank(node, index, 1, 1)))
    return failure();
  RankedTensorType type = getRanked(node.getInputs()[index]);
  if (!type.getElementType().isF32())
    return fail(node, "input " + Twine(index) + " must be a tensor of float32");
  if (!ShapedType::isDynamic(length) && !ShapedType::isDynamic(type.getDimSize(0)) &&
      type.getDimSize(0) != length)
    return fail(node, "input " + Twine(index) + " must have " + Twine(length) +
                          " elements, one per head");
  return success();
}

/// LinearAttentionGate(a, dt_bias, decay_scale, b?): decay = decay_scale · Softplus(a +
/// dt_bias) and beta = Sigmoid(b), of a and b [..., H], dt_bias and decay_scale float32
/// [H]; in float32, as onnxruntime's kernel computes, whatever the type of a and b.
LogicalResult checkLinearAttentionGate(onnx::NodeOp node) {
  if (failed(checkActivation(node)) || failed(checkRank(node, 0, 1)))
    return failure();
  int64_t heads = getRanked(node.getInputs()[0]).getShape().back();
  if (failed(checkFloat32Vector(node, 1, heads)) || failed(checkFloat32Vector(node, 2, heads)))
    return failure();
  if (!node.hasInput(3)) {
    if (node.getNumResults() > 1 && !node.getResult(1).use_empty())
      return fail(node, "output 1 (beta) needs input 3 (b)");
    return success();
  }
  if (getElementTypeOrSelf(node.getInputs()[3]) != getElementTypeOrSelf(node.getInputs()[0]))
    return fail(node, "input 3 (b) must have the element type of input 0 (a)");
  return success();
}

Replacements expandLinearAttentionGate(onnx::NodeOp node, NodeBuilder &builder) {
  Value a = node.getInputs()[0];
  Value shifted = builder.create("Add", {widenToFloat32(builder, a), node.getInputs()[1]});
  Value decay = builder.create("Mul", {builder.create("Softplus", shifted), node.getInputs()[2]});
  Replacements results = {narrowLike(builder, decay, a)};
  if (Value b = node.getOptionalInput(3))
    results.push_back(
        narrowLike(builder, builder.create("Sigmoid", widenToFloat32(builder, b)), b));
  return results;
}

/// GatedRMSNorm(X, scale, gate): X [..., H · C] root-mean-square normalized over each group
/// of C = len(scale) elements, times scale, times gate [X's shape] through SiLU (activation
/// silu or swish) or Sigmoid; in float32, as onnxruntime's kernel computes.
LogicalResult checkGatedRMSNorm(onnx::NodeOp node) {
  StringRef activation = node.getStringAttr("activation", "silu");
  if (activation != "silu" && activation != "swish" && activation != "sigmoid")
    return fail(node, "activation '" + activation + "' is not one of silu, swish, sigmoid");
  if (failed(checkActivation(node)) || failed(checkRank(node, 0, 1)) ||
      failed(checkRank(node, 1, 1, 1)))
    return failure();
  RankedTensorType input = getRanked(node.getInputs()[0]);
  int64_t groupSize = getRanked(node.getInputs()[1]).getDimSize(0);
  if (ShapedType::isDynamic(groupSize) || groupSize == 0)
    return fail(node, "the scale's length (the group size) must be known and positive");
  int64_t last = input.getShape().back();
  if (!ShapedType::isDynamic(last) && last % groupSize != 0)
    return fail(node, "the input's last dim (" + Twine(last) +
                          ") must be a multiple of the scale's length (" + Twine(groupSize) + ")");
  if (failed(checkRank(node, 2, input.getRank(), input.getRank())))
    return failure();
  for (auto [inputDim, gateDim] :
       llvm::zip(input.getShape(), getRanked(node.getInputs()[2]).getShape()))
    if (!ShapedType::isDynamic(inputDim) && !ShapedType::isDynamic(gateDim) && inputDim != gateDim)
      return fail(node, "input 2 (gate) must have the shape of input 0");
  return success();
}

Replacements expandGatedRMSNorm(onnx::NodeOp node, NodeBuilder &builder) {
  Value input = node.getInputs()[0];
  RankedTensorType type = getRanked(input);
  int64_t groupSize = getRanked(node.getInputs()[1]).getDimSize(0);
  // [..., H · C] as [..., H, C]: Reshape's 0 keeps the leading dims.
  int64_t last = type.getShape().back();
  SmallVector<int64_t> groupedShape(type.getRank() - 1, 0);
  groupedShape.append({ShapedType::isDynamic(last) ? -1 : last / groupSize, groupSize});
  Value grouped = builder.reshape(widenToFloat32(builder, input), groupedShape);
  SmallVector<int64_t> groupedDims(type.getRank() + 1, ShapedType::kDynamic);
  auto groupedType = RankedTensorType::get(groupedDims, Float32Type::get(node.getContext()));
  Value normalized =
      buildRMSNormalization(builder, grouped, groupedType,
                            widenToFloat32(builder, node.getInputs()[1]), type.getRank(),
                            node.getFloatAttr("epsilon", 1e-5), /*inFloat32=*/true)
          .first;
  Value ungrouped = builder.create("Reshape", {normalized, builder.create("Shape", input)});
  Value gate = widenToFloat32(builder, node.getInputs()[2]);
  Value activated = node.getStringAttr("activation", "silu") == "sigmoid"
                        ? builder.create("Sigmoid", gate)
                        : buildSwish(builder, gate, 1.0, Float32Type::get(node.getContext()));
  return {narrowLike(builder, builder.create("Mul", {ungrouped, activated}), input)};
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

const Expansion kExpansions[] = {
    {"", "SimplifiedLayerNormalization", checkSimplifiedLayerNormalization,
     expandSimplifiedLayerNormalization},
    {"com.microsoft", "SkipSimplifiedLayerNormalization", checkSkipSimplifiedLayerNormalization,
     expandSkipSimplifiedLayerNormalization},
    {"com.microsoft", "SkipLayerNormalization", checkSkipLayerNormalization,
     expandSkipLayerNormalization},
    {"com.microsoft", "Gelu", checkActivation, expandGelu},
    {"com.microsoft", "BiasGelu", checkActivation, expandGelu},
    {"com.microsoft", "FastGelu", checkActivation, expandFastGelu},
    {"com.microsoft", "QuickGelu", checkActivation, expandQuickGelu},
    {"com.microsoft", "FusedMatMul", checkFusedMatMul, expandFusedMatMul},
    {"com.microsoft", "RotaryEmbedding", checkRotaryEmbedding, expandRotaryEmbedding},
    {"com.microsoft", "MultiHeadAttention", checkMultiHeadAttention, expandMultiHeadAttention},
    {"com.microsoft", "GroupQueryAttention", checkGroupQueryAttention, expandGroupQueryAttention},
    {"com.microsoft", "CausalConvWithState", checkCausalConvWithState, expandCausalConvWithState},
    {"com.microsoft", "LinearAttention", checkLinearAttention, expandLinearAttention},
    {"com.microsoft", "LinearAttentionGate", checkLinearAttentionGate, expandLinearAttentionGate},
    {"com.microsoft", "GatedRMSNorm", checkGatedRMSNorm, expandGatedRMSNorm},
};

struct ExpandContribOps : moec::impl::ExpandContribOpsBase<ExpandContribOps> {
  void runOnOperation() override {
    if (failed(expansion::expandNodes(getOperation(), kExpansions)))
      signalPassFailure();
  }
};

} // namespace
