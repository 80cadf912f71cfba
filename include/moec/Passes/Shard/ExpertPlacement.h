//===- ExpertPlacement.h - Which ranks hold which experts -----------------===//
//
// Expert parallelism places the experts of every MoE layer on N ranks. The placement is one
// decision shared by `moec plan`, which estimates a deployment, and the sharding pass, which
// builds it, so both come from here (docs/sharding.md):
//
// - uniform: contiguous blocks in expert order, the first E % N ranks one expert more;
// - by load: the experts, heaviest first, each onto the least-loaded rank that still has
//   room (every rank holds at most ceil(E / N) experts, so memory stays even too);
// - with the K hottest experts replicated on every rank: a token routed to one of them is
//   computed on its own rank, so their load is split evenly and never exchanged;
// - from a file that names each expert's rank (or "all"), for placements made elsewhere.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_SHARD_EXPERTPLACEMENT_H
#define MOEC_PASSES_SHARD_EXPERTPLACEMENT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moec {

/// The ranks that hold each expert of one layer.
struct ExpertPlacement {
  unsigned numRanks = 1;
  /// holders[e]: the ranks that hold expert e, ascending; every rank for a replicated one.
  std::vector<std::vector<unsigned>> holders;

  int64_t getNumExperts() const { return static_cast<int64_t>(holders.size()); }
  bool isReplicated(int64_t expert) const { return holders[expert].size() > 1; }
  /// The experts that `rank` holds, ascending.
  std::vector<int64_t> getExperts(unsigned rank) const;
  /// The share of the layer's (token, expert) pairs that each rank computes, for the loads
  /// of getExpertShares: a replicated expert's pairs are split evenly between its holders.
  std::vector<double> getRankShares(llvm::ArrayRef<double> expertLoads) const;
};

/// Each expert's share of a layer's (token, expert) pairs when expert e gets
/// `expertLoads[e]` of them (any non-negative weights; all zero counts as uniform).
std::vector<double> getExpertShares(llvm::ArrayRef<double> expertLoads);

/// `numExperts` experts in contiguous blocks over `numRanks` ranks; with more ranks than
/// experts, the last ranks hold none.
ExpertPlacement placeExpertsUniformly(int64_t numExperts, unsigned numRanks);

/// The experts of `expertLoads` balanced by load over `numRanks` ranks, the
/// `replicateHot` heaviest (ties: the lower id) held by every rank. Greedy, heaviest
/// first onto the least-loaded rank (ties: the lower rank) among those holding fewer than
/// ceil(unreplicated experts / numRanks). Requires replicateHot <= expertLoads.size().
ExpertPlacement placeExpertsByLoad(llvm::ArrayRef<double> expertLoads, unsigned numRanks,
                                   unsigned replicateHot = 0);

/// Per-layer, per-expert loads from a routing profile, as `moec profile` writes it:
/// `{"layers": [{"name": ..., "tokens": T, "expert_tokens": [c0, c1, ...]}, ...]}`, checked
/// against the model's MoE layers (`expertsPerLayer[l]` experts in layer l, in the model's
/// order); a one-line message naming the file when it cannot be read or does not fit.
std::optional<std::vector<std::vector<double>>>
readExpertLoads(llvm::StringRef path, llvm::ArrayRef<int64_t> expertsPerLayer,
                std::string &error);

/// Per-layer placements from a placement file (`--placement=FILE`, docs/sharding.md):
/// `{"layers": [{"expert_ranks": [h0, h1, ...]}, ...]}`, for every expert of every MoE layer
/// (the model's order) the rank that holds it, from 0 to numRanks - 1, or `"all"`: held by
/// every rank (replicated). A one-line message naming the file when it does not fit.
std::optional<std::vector<ExpertPlacement>>
readExpertPlacements(llvm::StringRef path, llvm::ArrayRef<int64_t> expertsPerLayer,
                     unsigned numRanks, std::string &error);

} // namespace moec

#endif // MOEC_PASSES_SHARD_EXPERTPLACEMENT_H
