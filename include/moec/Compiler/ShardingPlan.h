//===- ShardingPlan.h - What expert parallelism over N ranks would cost ---===//
//
// `moec plan` (docs/sharding.md): for a model's MoE layers (or a layer shape given on the
// command line) and N ranks, estimates per rank the weight bytes, the (token, expert) pairs
// computed per step, the bytes each all-to-all moves, and the imbalance, without running
// anything. The ranks are data parallel outside the MoE layers: each brings `tokensPerRank`
// tokens to every step and keeps their combine; the experts are placed by ExpertPlacement.
//
// The exchange it prices is the one the sharded program makes, per MoE layer: the token
// counts (one int32 per pair of ranks), then every (token, expert) pair whose expert is on
// another rank sends the token's row and the expert's id there (dispatch), and the expert's
// output row comes back (combine); the routing weights stay on the token's rank.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_COMPILER_SHARDINGPLAN_H
#define MOEC_COMPILER_SHARDINGPLAN_H

#include "mlir/IR/BuiltinOps.h"
#include "moec/Passes/Shard/ExpertPlacement.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace moec {

/// What the plan needs to know of one MoE layer.
struct MoELayerShape {
  /// The layer's name in diagnostics and profiles (its ONNX node, or "layer").
  std::string name;
  int64_t hidden = 0;
  int64_t experts = 0;
  int64_t k = 0;
  /// The bytes of one routed expert's weights and biases.
  uint64_t expertBytes = 0;
  /// The bytes of one element of the tokens that the exchange moves.
  uint64_t activationBytes = 4;
};

/// The MoE layers of a model and the weights that every rank holds whole.
struct ModelShape {
  std::vector<MoELayerShape> layers;
  /// Every weight that is not a routed expert's: routers, shared experts, the rest of the
  /// model.
  uint64_t replicatedBytes = 0;
};

/// The MoE layers of a raised module (moe.layer ops, in order) and its other weights.
ModelShape getModelShape(mlir::ModuleOp module);

/// A model of `layers` identical layers from `hidden=H,experts=E,ffn=I,k=K` and optionally
/// `shared=S` (shared experts of ffn I), `gated=0|1` (default 1), `dtype=f32|f16|bf16`
/// (default bf16), `layers=L` (default 1). A one-line message on a bad spec.
std::optional<ModelShape> parseLayerSpec(llvm::StringRef spec, std::string &error);

struct RankPlan {
  /// Routed experts held, summed over the layers.
  int64_t experts = 0;
  uint64_t weightBytes = 0;
  /// (token, expert) pairs computed per step, summed over the layers.
  double pairsPerStep = 0;
  /// Bytes sent (dispatch and combine) per step, summed over the layers.
  double sentBytesPerStep = 0;
};

struct ShardingPlan {
  unsigned numRanks = 1;
  int64_t tokensPerRank = 0;
  std::vector<RankPlan> ranks;
  /// Bytes all ranks send per step, and per token of the step (tokensPerRank * numRanks).
  double exchangeBytesPerStep = 0;
  double exchangeBytesPerToken = 0;
  /// The worst layer's max / mean of the pairs its ranks compute (1: balanced).
  double imbalance = 1;
};

struct PlanOptions {
  unsigned numRanks = 1;
  int64_t tokensPerRank = 1;
  /// The hottest experts of every layer to hold on every rank.
  unsigned replicateHot = 0;
  /// Per layer, per expert loads (empty: uniform routing, and uniform placement unless
  /// replicating).
  std::vector<std::vector<double>> loads;
  /// Per layer, the placement to plan (from a placement file; empty: placed by the loads).
  std::vector<ExpertPlacement> placements;
};

/// The plan of `model` over `options.numRanks` ranks. Requires replicateHot <= the experts
/// of every layer.
ShardingPlan planSharding(const ModelShape &model, const PlanOptions &options);

/// Writes `plans` as a table per plan, or as one JSON object.
void printShardingPlans(llvm::ArrayRef<ShardingPlan> plans, const ModelShape &model, bool json,
                        llvm::raw_ostream &os);

} // namespace moec

#endif // MOEC_COMPILER_SHARDINGPLAN_H
