//===- AttentionTypes.cpp - Types of ONNX's attention ops -----------------===//
//
// The ops that ONNX added from opset 23 on for attention in LLMs: Attention, and
// RotaryEmbedding and TensorScatter, whose results have the type of their first input (the
// rotated X, the updated cache); and the recurrent ones of opset 27, LinearAttention and
// CausalConvWithState, which onnxruntime also has in its com.microsoft domain with more
// attributes (the same rules serve both).
//
//===----------------------------------------------------------------------===//

#include "TypeInference.h"

#include <algorithm>

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

/// LinearAttention: query [B, T, Hq · dk] and value [B, T, Hkv · dv] give the output
/// [B, T, max(Hq, Hkv) · dv] (com.microsoft's inverse GQA, Hkv > Hq, has one per KV head)
/// and the recurrent state [B, Hkv, dk, dv], of past_state's type when given.
void inferLinearAttention(NodeInference &node) {
  RankedTensorType query = node.getRanked(0), value = node.getRanked(2);
  onnx::NodeOp op = node.getNode();
  int64_t heads = op.getIntAttr("q_num_heads", 0), kvHeads = op.getIntAttr("kv_num_heads", 0);
  if (!query || !value || query.getRank() != 3 || value.getRank() != 3 || heads <= 0 ||
      kvHeads <= 0 || op.getIntAttr("state_window", 0) != 0)
    return;
  auto headSize = [](int64_t hidden, int64_t count) {
    return ShapedType::isDynamic(hidden) ? kDynamic : hidden / count;
  };
  int64_t keySize = headSize(query.getDimSize(2), heads);
  int64_t valueSize = headSize(value.getDimSize(2), kvHeads);
  int64_t outputHidden =
      ShapedType::isDynamic(valueSize) ? kDynamic : std::max(heads, kvHeads) * valueSize;
  node.setResult(0, query.getElementType(),
                 {query.getDimSize(0), query.getDimSize(1), outputHidden});
  Type stateElement = node.getInput(3) ? node.getElementType(3) : query.getElementType();
  if (node.getNumResults() > 1 && stateElement)
    node.setResult(1, stateElement, {query.getDimSize(0), kvHeads, keySize, valueSize});
}

/// CausalConvWithState: the output has the input's type; the carry state holds the last
/// (k - 1) · dilation positions, [B, C, that] for input [B, C, L] and weight [C, 1, k], or
/// [B, that, d1, ...] for com.microsoft's channels_last input [B, L, d1, ...].
void inferCausalConvWithState(NodeInference &node) {
  node.setResultLikeInput(0, 0);
  RankedTensorType input = node.getRanked(0), weight = node.getRanked(1);
  onnx::NodeOp op = node.getNode();
  bool channelsLast = op.getIntAttr("channels_last", 0) != 0;
  if (node.getNumResults() < 2 || !input || !weight || weight.getRank() != 3 ||
      (channelsLast ? input.getRank() < 3 : input.getRank() != 3) ||
      op.getIntAttr("state_window", 0) != 0)
    return;
  int64_t kernel = weight.getDimSize(2);
  SmallVector<int64_t> shape(input.getShape());
  shape[channelsLast ? 1 : 2] =
      ShapedType::isDynamic(kernel) ? kDynamic : (kernel - 1) * op.getIntAttr("dilation", 1);
  node.setResult(1, input.getElementType(), shape);
}

} // namespace

void moec::infer::addAttentionTypeRules(TypeRules &rules) {
  for (StringRef op : {"RotaryEmbedding", "TensorScatter"})
    rules[op] = [](NodeInference &node) { node.setResultLikeInput(0, 0); };
  rules["Attention"] = inferAttention;
  for (StringRef domain : {"", "com.microsoft"}) {
    rules[getRuleKey(domain, "LinearAttention")] = inferLinearAttention;
    rules[getRuleKey(domain, "CausalConvWithState")] = inferCausalConvWithState;
  }
}
