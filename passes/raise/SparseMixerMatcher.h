//===- SparseMixerMatcher.h - Recover PhiMoE's SparseMixer router ---------===//
//
// transformers' PhiMoE routes by `sparsemixer` (Phi-3.5-MoE), top-2 at inference, which
// torch.export, TorchScript and transformers' exporter all write as:
//
//   m1 = ReduceMax(l, [-1], keepdims = 1)             e1 = ArgMax(l, -1, keepdims = 1)
//   mask1 = Greater(Div(Sub(m1, l), Max(Abs(l), m1)), 2 * eps)
//   w1 = GatherElements(Softmax(Where(mask1, -inf, l)), e1)
//   l2 = ScatterElements(l, e1, -inf)                 (the first choice left out)
//   m2 = ReduceMax(l2, [-1], keepdims = 1)            e2 = ArgMax(l2, -1, keepdims = 1)
//   mask2 = Greater(Div(Sub(m2, l), Max(Abs(l), m2)), 2 * eps)
//   w2 = GatherElements(Softmax(Where(mask2, -inf, l2)), e2)
//   experts = Concat(e1, e2, -1)                      weights = Concat(w1, w2, -1)
//
// which is `#moe.routing<scoring = sparse_mixer, k = 2, jitter_eps = eps>` (eps is the
// config's `router_jitter_noise`).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_SPARSEMIXERMATCHER_H
#define MOEC_PASSES_RAISE_SPARSEMIXERMATCHER_H

#include "RouterMatcher.h"

namespace moec::raise {

/// Whether `concat` could be SparseMixer's choice: the Concat of two ArgMaxes, `[T, 2]`.
bool isSparseMixerChoice(onnx::NodeOp concat);

/// Matches the SparseMixer routing whose chosen experts `concat` concatenates.
mlir::FailureOr<Routing> matchSparseMixerRouting(onnx::NodeOp concat, Reason &reason);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_SPARSEMIXERMATCHER_H
