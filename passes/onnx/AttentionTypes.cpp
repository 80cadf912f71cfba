//===- AttentionTypes.cpp - Types of ONNX's attention ops -----------------===//
//
// The ops that ONNX added from opset 23 on for attention in LLMs: Attention, and
// RotaryEmbedding and TensorScatter, whose results have the type of their first input (the
// rotated X, the updated cache).
//
//===----------------------------------------------------------------------===//

#include "TypeInference.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

/// The sum of two dims, dynamic when either is.
int64_t addDims(int64_t lhs, int64_t rhs) {
  return ShapedType::isDynamic(lhs) || ShapedType::isDynamic(rhs) ? kDynamic : lhs + rhs;
}

/// Attention: Q [B, Nq, S, H], K [B, Nkv, L, H], V [B, Nkv, L, Hv] (or 3-D, [B, S or L,
/// heads · size], with q_num_heads and kv_num_heads) give Y [B, Nq, S, Hv] (3-D:
/// [B, S, Nq · Hv]), the present key and value [B, Nkv, P + L, H or Hv] and the scores
/// [B, Nq, S, P + L].
void inferAttention(NodeInference &node) {
  RankedTensorType query = node.getRanked(0), key = node.getRanked(1), value = node.getRanked(2);
  if (!query || !key || !value || query.getRank() != key.getRank() ||
      query.getRank() != value.getRank() || (query.getRank() != 3 && query.getRank() != 4))
    return;
  onnx::NodeOp op = node.getNode();
  Type element = query.getElementType();
  bool packedHeads = query.getRank() == 3;
  int64_t heads = packedHeads ? op.getIntAttr("q_num_heads", 0) : query.getDimSize(1);
  int64_t kvHeads = packedHeads ? op.getIntAttr("kv_num_heads", 0) : key.getDimSize(1);
  if (packedHeads && (heads <= 0 || kvHeads <= 0))
    return;
  auto headSize = [&](RankedTensorType input) {
    if (!packedHeads)
      return input.getDimSize(3);
    int64_t hidden = input.getDimSize(2);
    return ShapedType::isDynamic(hidden) ? kDynamic : hidden / kvHeads;
  };
  int64_t batch = query.getDimSize(0), length = query.getDimSize(packedHeads ? 1 : 2);
  int64_t keySize = headSize(key), valueSize = headSize(value);
  int64_t total = key.getDimSize(packedHeads ? 1 : 2);
  if (node.getInput(4)) {
    RankedTensorType pastKey = node.getRanked(4);
    total = addDims(total, pastKey && pastKey.getRank() == 4 ? pastKey.getDimSize(2) : kDynamic);
  }
  if (packedHeads)
    node.setResult(0, element,
                   {batch, length, ShapedType::isDynamic(valueSize) ? kDynamic : heads * valueSize});
  else
    node.setResult(0, element, {batch, heads, length, valueSize});
  if (node.getNumResults() > 1)
    node.setResult(1, element, {batch, kvHeads, total, keySize});
  if (node.getNumResults() > 2)
    node.setResult(2, element, {batch, kvHeads, total, valueSize});
  if (node.getNumResults() > 3)
    node.setResult(3, element, {batch, heads, length, total});
}

} // namespace

void moec::infer::addAttentionTypeRules(TypeRules &rules) {
  for (StringRef op : {"RotaryEmbedding", "TensorScatter"})
    rules[op] = [](NodeInference &node) { node.setResultLikeInput(0, 0); };
  rules["Attention"] = inferAttention;
}
