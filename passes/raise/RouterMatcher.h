//===- RouterMatcher.h - Recover an MoE router from an onnx-level graph ---===//
//
// From the TopK node that chooses every token's experts, recovers the routing as
// `#moe.routing` describes it, the router's input and weights, and the values the rest of
// the graph uses as the chosen experts and their weights. Recognized:
//
// - softmax over the router logits, then TopK, optionally renormalized by
//   `Div(values, ReduceSum(values))` (Mixtral, Qwen2-MoE, Switch with k = 1);
// - TopK on the logits, then Softmax over the k values (GPT-OSS: topk_first);
// - TopK on the logits, optionally plus a constant score bias, then the Sigmoid of the
//   chosen logits (Kolibri: topk_first with sigmoid scoring), or of the chosen logits
//   scattered into -inf over all experts (Llama 4: `weights` are then `[T, E]`, zero for
//   the experts not chosen);
// - sigmoid scores, optionally plus a constant score-correction bias for choosing only, and
//   optionally group-limited (DeepSeek-V3: the scores of the groups not among the best
//   `topk_group` masked out with a Where before the TopK: to -inf, or to 0, AXK-2's
//   `zero_masked_groups` where a negative bias lets a masked expert outrank a kept one);
//   the weights are then the unbiased scores of the chosen experts (GatherElements);
// - the same with sqrt-softplus scores, `Sqrt(Softplus(logits))` (DeepSeek-V4; torch.export
//   writes the softplus as `Where(logits > 20, logits, Softplus(logits))`).
//
// The weights may be renormalized by `Div(w, ReduceSum(w))` or `Div(w, ReduceSum(w) + eps)`
// (DeepSeek's negligible 1e-20 is dropped, LFM2-MoE's 1e-6 kept as `renormalize_epsilon`)
// and then scaled by a constant (`routed_scaling_factor`).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_ROUTERMATCHER_H
#define MOEC_PASSES_RAISE_ROUTERMATCHER_H

#include "ONNXMatch.h"

#include "moec/Dialect/MoE/MoE.h"

namespace moec::raise {

struct Routing {
  /// The router's Linear over the tokens `[T, H]` (its input), to logits `[T, E]`.
  Linear router;
  moe::Scoring scoring = moe::Scoring::softmax;
  int64_t k = 0;
  bool renormalize = false;
  /// Added to the sum of the chosen weights before renormalizing.
  double renormalizeEpsilon = 0.0;
  bool topkFirst = false;
  int64_t nGroup = 1, topkGroup = 1;
  /// The experts outside the best groups compete with a choice score of 0.
  bool zeroMaskedGroups = false;
  double routedScalingFactor = 1.0;
  /// SparseMixer's mask width (`jitter_eps`).
  double jitterEps = moe::kDefaultJitterEps;
  /// The score-correction bias constant, `[E]` or `[1, E]`, or null.
  mlir::Value scoreBias;
  /// The chosen experts `[T, k]` (TopK's indices) and the weights `[T, k]` the graph
  /// multiplies the expert outputs by, slot for slot (or, Llama 4, `[T, E]`: expert by
  /// expert, zero for those not chosen).
  mlir::Value expertIds;
  mlir::Value weights;

  int64_t getNumExperts() const { return router.getOutSize(); }
  /// The `#moe.routing` of this router; `weighInputs` when the layer's weights scale the
  /// experts' inputs (Llama 4).
  moe::RoutingAttr getAttr(mlir::MLIRContext *context, bool weighInputs = false) const;
};

/// Matches the routing whose expert choice is `topK`.
mlir::FailureOr<Routing> matchRouting(onnx::NodeOp topK, Reason &reason);

/// Matches the expert choice of `topK` up to the logits it is made from: every field but
/// `router` is set, and `logits` is the `[T, E]` value the scores are computed from. For
/// routers that are not one Linear (Doge's product keys).
mlir::FailureOr<Routing> matchRoutingChoice(onnx::NodeOp topK, mlir::Value &logits,
                                            Reason &reason);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_ROUTERMATCHER_H
