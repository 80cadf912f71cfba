//===- ContribTypes.cpp - Types of onnxruntime's contrib ops --------------===//
//
// The com.microsoft ops that onnxruntime's transformer optimizer and onnxruntime-genai's
// model builder write around MoE layers (docs: onnxruntime's ContribOperators.md).
//
//===----------------------------------------------------------------------===//

#include "TypeInference.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

/// Skip(Simplified)LayerNormalization: the output and the sum of input, skip and bias (output
/// 3) have the input's type; the statistics (outputs 1, 2) are for training.
void inferSkipLayerNormalization(NodeInference &node) {
  node.setResultLikeInput(0, 0);
  if (node.getNumResults() > 3)
    node.setResultLikeInput(3, 0);
}

/// GroupQueryAttention: query [B, S, N·H] (or Q, K and V packed, [B, S, (N + 2·Nkv)·H]) gives
/// [B, S, N·H]; the present key and value [B, Nkv, T, H].
void inferGroupQueryAttention(NodeInference &node) {
  RankedTensorType query = node.getRanked(0);
  if (!query || query.getRank() != 3)
    return;
  onnx::NodeOp op = node.getNode();
  int64_t heads = op.getIntAttr("num_heads", 0), kvHeads = op.getIntAttr("kv_num_heads", 0);
  int64_t hidden = query.getDimSize(2);
  bool packed = !node.getInput(1);
  int64_t headSize = kDynamic;
  if (!ShapedType::isDynamic(hidden) && heads > 0)
    headSize = packed ? hidden / (heads + 2 * kvHeads) : hidden / heads;
  int64_t outputHidden = ShapedType::isDynamic(headSize) ? kDynamic : heads * headSize;
  node.setResult(0, query.getElementType(), {query.getDimSize(0), query.getDimSize(1), outputHidden});
  for (unsigned i = 1; i < 3 && i < node.getNumResults(); ++i)
    node.setResult(i, query.getElementType(), {query.getDimSize(0), kvHeads, kDynamic, headSize});
}

/// MultiHeadAttention: [B, S, hidden of the value] for a 3-D query.
void inferMultiHeadAttention(NodeInference &node) {
  RankedTensorType query = node.getRanked(0), value = node.getRanked(2);
  if (!query || query.getRank() != 3)
    return;
  int64_t valueHidden = query.getDimSize(2);
  if (value && value.getRank() == 3)
    valueHidden = value.getDimSize(2);
  else if (value && value.getRank() == 4)
    valueHidden = multiplyDims({value.getDimSize(1), value.getDimSize(3)});
  node.setResult(0, query.getElementType(), {query.getDimSize(0), query.getDimSize(1), valueHidden});
}

/// MatMulNBits: A [..., K] times the dequantized [K, N] weights, [..., N] in A's type.
void inferMatMulNBits(NodeInference &node) {
  RankedTensorType a = node.getRanked(0);
  if (!a || a.getRank() < 1)
    return;
  SmallVector<int64_t> shape(a.getShape());
  shape.back() = node.getNode().getIntAttr("N", kDynamic);
  node.setResult(0, a.getElementType(), shape);
}

/// GatherBlockQuantized along axis 0: the indices' shape, then data's other dims (the last
/// one unpacked from uint8's bytes, 8 / bits values each), in the scales' type.
void inferGatherBlockQuantized(NodeInference &node) {
  RankedTensorType data = node.getRanked(0), indices = node.getRanked(1);
  onnx::NodeOp op = node.getNode();
  Type element = node.getElementType(2);
  if (!data || !indices || data.getRank() < 1 || op.getIntAttr("gather_axis", 0) != 0)
    return node.setUnrankedResult(0, element);
  SmallVector<int64_t> shape(indices.getShape());
  shape.append(data.getShape().begin() + 1, data.getShape().end());
  int64_t bits = op.getIntAttr("bits", 4);
  if (data.getElementType().isInteger(8) && data.getRank() > 1 && bits > 0 && bits < 8 &&
      !ShapedType::isDynamic(shape.back()))
    shape.back() *= 8 / bits;
  node.setResult(0, element, shape);
}

} // namespace

void moec::infer::addContribTypeRules(TypeRules &rules) {
  for (StringRef op : {"SkipLayerNormalization", "SkipSimplifiedLayerNormalization"})
    rules[getRuleKey("com.microsoft", op)] = inferSkipLayerNormalization;
  for (StringRef op : {"RotaryEmbedding", "FastGelu", "BiasGelu", "QuickGelu", "Gelu", "MoE",
                       "QMoE", "SimplifiedLayerNormalization", "GatedRMSNorm"})
    rules[getRuleKey("com.microsoft", op)] = [](NodeInference &node) {
      node.setResultLikeInput(0, 0);
    };
  rules[getRuleKey("com.microsoft", "FusedMatMul")] = [](NodeInference &node) {
    onnx::NodeOp op = node.getNode();
    inferMatMulResult(node, op.getIntAttr("transA", 0) != 0, op.getIntAttr("transB", 0) != 0);
  };
  // LinearAttentionGate: decay like a, beta like b (both [..., H]).
  rules[getRuleKey("com.microsoft", "LinearAttentionGate")] = [](NodeInference &node) {
    node.setResultLikeInput(0, 0);
    if (node.getNumResults() > 1 && node.getNode().hasInput(3))
      node.setResultLikeInput(1, 3);
  };
  rules[getRuleKey("com.microsoft", "GroupQueryAttention")] = inferGroupQueryAttention;
  rules[getRuleKey("com.microsoft", "MultiHeadAttention")] = inferMultiHeadAttention;
  rules[getRuleKey("com.microsoft", "MatMulNBits")] = inferMatMulNBits;
  rules[getRuleKey("com.microsoft", "GatherBlockQuantized")] = inferGatherBlockQuantized;
}
