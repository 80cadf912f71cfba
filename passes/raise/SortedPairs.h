//===- SortedPairs.h - The (token, slot) pairs sorted by expert -*- C++ -*-===//
//
// Experts that run on the rows grouped by expert (transformers 5's `grouped_mm`, JetMoE's
// ParallelExperts) start by sorting the (token, slot) pairs by their chosen expert: a
// stable ascending sort of the router's expert ids viewed as `[T * k]`, pair `t * k + s`
// being token t's slot s. The sorted rows read the tokens at `pair // k`.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_SORTEDPAIRS_H
#define MOEC_PASSES_RAISE_SORTEDPAIRS_H

#include "ExpertChoice.h"

namespace moec::raise {

/// The (token, slot) pairs sorted by expert: `TopK(ids viewed as [T * k], T * k,
/// largest = 0, sorted = 1)` of the router's chosen experts `ids` `[T, k]`
/// (ExpertChoice.h).
struct SortedPairs {
  /// The node that chose the experts, and its result `ids`.
  onnx::NodeOp routerChoice;
  mlir::Value ids;
  /// The expert of each sorted row, ascending, and the pair it is.
  mlir::Value expertOfRow, pairOfRow;
  int64_t k = 0;
};

/// The sort whose permutation (TopK's indices) is `pairOfRow`. Its K must be the shape of
/// the ids it sorts, unless `anyK`: for a caller whose graph fails to run unless the sort
/// keeps all T * k pairs (a Split of the sorted rows by counts that add up to T * k), and
/// which so accepts a K computed from another tensor of that size.
std::optional<SortedPairs> matchSortedPairs(mlir::Value pairOfRow, bool anyK = false);

/// Whether `value` is each sorted row's token, `pairOfRow // k`: an integer Div by k (the
/// pairs are not negative, so it truncates to the floor); torch's floor_divide,
/// `Div(p, k) - Cast(And(p < 0 [== true], ...))`, whose correction is zero for them; or
/// torch.export's truncating division in f32, `Cast(Floor(Abs(q)) * Sign(q))` with
/// `q = Cast(p) / k`, exact while the pairs are below 2^24.
bool isTokenOfRow(mlir::Value value, const SortedPairs &pairs);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_SORTEDPAIRS_H
