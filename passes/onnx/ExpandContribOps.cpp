//===- ExpandContribOps.cpp - onnxruntime's contrib ops as ONNX nodes -----===//
//
// onnxruntime's fused ops (docs: onnxruntime's ContribOperators.md) rewritten into the
// default-domain nodes they fuse, so that type inference and legalization need to know only
// ONNX's ops. Each expansion first checks the forms it supports (one diagnostic naming the
// node for any other), then a pattern rewrites it.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace moec {
#define GEN_PASS_DEF_EXPANDCONTRIBOPS
#include "passes/onnx/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;

namespace {

/// ONNX's element type code for float32 (TensorProto.FLOAT), as Cast's `to` takes it.
constexpr int64_t kOnnxFloat = 1;

/// Builds the default-domain nodes that replace one contrib node: each named after it and
/// located at it, so that diagnostics on them name the node the model has; results of
/// unknown type, which moec-infer-types then infers.
class NodeBuilder {
public:
  NodeBuilder(PatternRewriter &rewriter, onnx::NodeOp node)
      : rewriter(rewriter), node(node), loc(node.getLoc()),
        opset(onnx::getOpsetImport(node, "").value_or(22)) {}

  Value create(StringRef opType, ValueRange inputs, ArrayRef<NamedAttribute> attrs = {}) {
    return createMany(opType, inputs, 1, attrs).front();
  }
  SmallVector<Value> createMany(StringRef opType, ValueRange inputs, unsigned numResults,
                                ArrayRef<NamedAttribute> attrs = {}) {
    SmallVector<Type> types(numResults, onnx::AnyType::get(rewriter.getContext()));
    auto created = onnx::NodeOp::create(
        rewriter, loc, types, rewriter.getStringAttr(opType), rewriter.getStringAttr(""),
        rewriter.getStringAttr(node.getName() + "/" + opType),
        rewriter.getDictionaryAttr(attrs), inputs, /*subgraphsCount=*/0);
    return SmallVector<Value>(created.getResults());
  }

  NamedAttribute attr(StringRef name, int64_t value) {
    return rewriter.getNamedAttr(name, rewriter.getI64IntegerAttr(value));
  }
  NamedAttribute attr(StringRef name, ArrayRef<int64_t> values) {
    return rewriter.getNamedAttr(name, rewriter.getDenseI64ArrayAttr(values));
  }

  /// A 1-D int64 constant, or a 0-D one for `scalar`.
  Value ints(ArrayRef<int64_t> values, bool scalar = false) {
    SmallVector<int64_t> shape;
    if (!scalar)
      shape.push_back(values.size());
    auto type = RankedTensorType::get(shape, rewriter.getI64Type());
    return constant(DenseElementsAttr::get(type, values));
  }
  /// A 0-D floating-point constant of `elementType`.
  Value scalar(double value, Type elementType) {
    auto type = RankedTensorType::get({}, elementType);
    return constant(DenseElementsAttr::get(type, rewriter.getFloatAttr(elementType, value)));
  }

  Value reduceMean(Value input, ArrayRef<int64_t> axes) {
    if (opset < 18)
      return create("ReduceMean", input, {attr("axes", axes), attr("keepdims", 1)});
    return create("ReduceMean", {input, ints(axes)}, {attr("keepdims", 1)});
  }
  Value unsqueeze(Value input, ArrayRef<int64_t> axes) {
    if (opset < 13)
      return create("Unsqueeze", input, {attr("axes", axes)});
    return create("Unsqueeze", {input, ints(axes)});
  }
  /// `input[..., start:end:step]` along `axis`.
  Value slice(Value input, int64_t axis, int64_t start, int64_t end, int64_t step = 1) {
    return create("Slice", {input, ints({start}), ints({end}), ints({axis}), ints({step})});
  }
  Value reshape(Value input, ArrayRef<int64_t> shape) {
    return create("Reshape", {input, ints(shape)});
  }
  Value transpose(Value input, ArrayRef<int64_t> perm) {
    return create("Transpose", input, {attr("perm", perm)});
  }
  Value cast(Value input, int64_t to) { return create("Cast", input, {attr("to", to)}); }

private:
  Value constant(DenseElementsAttr value) {
    return onnx::ConstantOp::create(rewriter, loc, value.getType(),
                                    (node.getName() + "/constant").str(), value);
  }

  PatternRewriter &rewriter;
  onnx::NodeOp node;
  Location loc;
  int64_t opset;
};

/// The results that replace a contrib node's, in order; null for an omitted output.
using Replacements = SmallVector<Value>;

/// One contrib op: the forms its expansion supports, and the expansion.
struct Expansion {
  StringRef domain;
  StringRef opType;
  /// Emits a diagnostic naming the node, and fails, on a form the expansion does not
  /// support.
  LogicalResult (*check)(onnx::NodeOp node);
  Replacements (*expand)(onnx::NodeOp node, NodeBuilder &builder);
};

/// Emits "node 'NAME' (OP_TYPE): MESSAGE" on `node` and fails.
LogicalResult fail(onnx::NodeOp node, const Twine &message) {
  return node.emitError() << "node '" << node.getName() << "' (" << node.getOpType()
                          << "): " << message;
}

RankedTensorType getRanked(Value value) {
  return value ? dyn_cast<RankedTensorType>(value.getType()) : RankedTensorType();
}

/// Fails unless input `index` is a ranked tensor of rank in [minRank, maxRank].
LogicalResult checkRank(onnx::NodeOp node, unsigned index, int64_t minRank, int64_t maxRank) {
  RankedTensorType type = getRanked(node.getOptionalInput(index));
  if (type && type.getRank() >= minRank && type.getRank() <= maxRank)
    return success();
  return fail(node, "input " + Twine(index) + " must be a tensor of rank " + Twine(minRank) +
                        (minRank == maxRank ? Twine() : " to " + Twine(maxRank)));
}

/// Fails when result `index` is used: the training statistics are not computed.
LogicalResult checkUnused(onnx::NodeOp node, unsigned index, StringRef what) {
  if (index >= node.getNumResults() || node.getResult(index).use_empty())
    return success();
  return fail(node, "moec does not compute output " + Twine(index) + " (" + what + ")");
}

/// Fails when attribute `name` is set and not `expected`.
LogicalResult checkIntAttr(onnx::NodeOp node, StringRef name, int64_t expected) {
  if (node.getIntAttr(name, expected) == expected)
    return success();
  return fail(node, "attribute '" + name + "' other than " + Twine(expected) +
                        " is not supported");
}

//===----------------------------------------------------------------------===//
// Normalizations
//===----------------------------------------------------------------------===//

/// Root-mean-square normalization of `input`, of `type`, over its dims from `firstAxis`
/// on, scaled by `scale`, computed in float32 when `inFloat32` (stash_type 1): the result
/// and the inverse root mean square (float32 with the normalized dims kept as 1).
std::pair<Value, Value> buildRMSNormalization(NodeBuilder &builder, Value input,
                                              RankedTensorType type, Value scale,
                                              int64_t firstAxis, double epsilon,
                                              bool inFloat32) {
  bool widen = inFloat32 && !type.getElementType().isF32();
  Type computeType = widen ? Float32Type::get(input.getContext()) : type.getElementType();
  Value x = widen ? builder.cast(input, kOnnxFloat) : input;
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(firstAxis, type.getRank()));
  Value meanSquare = builder.reduceMean(builder.create("Mul", {x, x}), axes);
  Value rms = builder.create(
      "Sqrt", builder.create("Add", {meanSquare, builder.scalar(epsilon, computeType)}));
  Value inverseRMS = builder.create("Reciprocal", rms);
  Value normalized = builder.create("Mul", {x, inverseRMS});
  if (widen)
    normalized = builder.create("CastLike", {normalized, input});
  return {builder.create("Mul", {normalized, scale}), inverseRMS};
}

/// ONNX-domain SimplifiedLayerNormalization(X, scale): RMS normalization over the dims
/// from `axis` on; output 1 the inverse root mean square.
LogicalResult checkSimplifiedLayerNormalization(onnx::NodeOp node) {
  if (failed(checkRank(node, 0, 1, 8)))
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
  if (onnx::getOpsetImport(node, "").value_or(22) < 17)
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
// Matmul
//===----------------------------------------------------------------------===//

/// FusedMatMul(A, B): alpha · (A or Aᵀ) × (B or Bᵀ), transposing the last two dims.
LogicalResult checkFusedMatMul(onnx::NodeOp node) {
  if (failed(checkIntAttr(node, "transBatchA", 0)) ||
      failed(checkIntAttr(node, "transBatchB", 0)))
    return failure();
  for (unsigned index : {0u, 1u})
    if (node.getIntAttr(index == 0 ? "transA" : "transB", 0) &&
        failed(checkRank(node, index, 2, 8)))
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

/// Rotates the first `rotaryDim` entries of 4-D `input`'s last dim by the angles whose cosines
/// and sines are `cos` and `sin` (broadcasting against `input`'s other dims, rotaryDim / 2
/// in the last): in two halves, or in (even, odd) pairs when `interleaved`.
Value buildRotation(NodeBuilder &builder, Value input, Value cos, Value sin, int64_t rotaryDim,
                    int64_t headSize, bool interleaved) {
  int64_t half = rotaryDim / 2;
  Value real = interleaved ? builder.slice(input, -1, 0, rotaryDim, 2)
                           : builder.slice(input, -1, 0, half);
  Value imaginary = interleaved ? builder.slice(input, -1, 1, rotaryDim, 2)
                                : builder.slice(input, -1, half, rotaryDim);
  Value rotatedReal = builder.create("Sub", {builder.create("Mul", {real, cos}),
                                             builder.create("Mul", {imaginary, sin})});
  Value rotatedImaginary = builder.create("Add", {builder.create("Mul", {real, sin}),
                                                  builder.create("Mul", {imaginary, cos})});
  SmallVector<Value> parts = {rotatedReal, rotatedImaginary};
  if (interleaved) {
    Value pairs = builder.create("Concat",
                                 {builder.unsqueeze(rotatedReal, {-1}),
                                  builder.unsqueeze(rotatedImaginary, {-1})},
                                 {builder.attr("axis", -1)});
    parts = {builder.reshape(pairs, {0, 0, 0, rotaryDim})};
  }
  if (rotaryDim < headSize)
    parts.push_back(builder.slice(input, -1, rotaryDim, headSize));
  return builder.create("Concat", parts, {builder.attr("axis", -1)});
}

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
    {"com.microsoft", "FusedMatMul", checkFusedMatMul, expandFusedMatMul},
    {"com.microsoft", "RotaryEmbedding", checkRotaryEmbedding, expandRotaryEmbedding},
    {"com.microsoft", "MultiHeadAttention", checkMultiHeadAttention, expandMultiHeadAttention},
};

const Expansion *findExpansion(onnx::NodeOp node) {
  for (const Expansion &expansion : kExpansions)
    if (node.getDomain() == expansion.domain && node.getOpType() == expansion.opType)
      return &expansion;
  return nullptr;
}

/// Replaces a contrib node by its expansion, whose results keep the node's result types.
struct ExpandContribNode : OpRewritePattern<onnx::NodeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    const Expansion *expansion = findExpansion(node);
    if (!expansion)
      return failure();
    NodeBuilder builder(rewriter, node);
    Replacements replacements = expansion->expand(node, builder);
    for (auto [result, replacement] : llvm::zip(node.getResults(), replacements)) {
      if (result.use_empty())
        continue;
      replacement.setType(result.getType());
      rewriter.replaceAllUsesWith(result, replacement);
    }
    rewriter.eraseOp(node);
    return success();
  }
};

struct ExpandContribOps : moec::impl::ExpandContribOpsBase<ExpandContribOps> {
  void runOnOperation() override {
    bool unsupported = false;
    getOperation().walk([&](onnx::NodeOp node) {
      if (const Expansion *expansion = findExpansion(node))
        unsupported |= failed(expansion->check(node));
    });
    if (unsupported)
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandContribNode>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
