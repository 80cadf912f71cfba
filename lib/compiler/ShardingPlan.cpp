//===- ShardingPlan.cpp - What expert parallelism over N ranks would cost -===//

#include "moec/Compiler/ShardingPlan.h"

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Shard/ExpertPlacement.h"

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <algorithm>

using namespace llvm;
using namespace moec;

namespace {

uint64_t getElementBytes(mlir::Type elementType) {
  return (elementType.getIntOrFloatBitWidth() + 7) / 8;
}

/// The bytes of a constant of `type` in a weights file: 4-bit stacks (`[E, R, N]` quantized
/// codes or zero points) two a byte along R, as the host packs them.
uint64_t getStoredBytes(mlir::ShapedType type) {
  mlir::Type elementType = type.getElementType();
  if (elementType.getIntOrFloatBitWidth() != 4 || type.getRank() != 3)
    return uint64_t(type.getNumElements()) * getElementBytes(elementType);
  return uint64_t(type.getDimSize(0)) * ((type.getDimSize(1) + 1) / 2) * type.getDimSize(2);
}

uint64_t getTensorBytes(mlir::Value value) {
  return getStoredBytes(cast<mlir::ShapedType>(value.getType()));
}

/// The bytes an expert stack takes: quantized ones (made by a moe.dequantize, as raised
/// QMoE layers are) their codes, scales and zero points, which the program holds instead.
uint64_t getStackBytes(mlir::Value stack) {
  auto dequantize = stack.getDefiningOp<moe::DequantizeOp>();
  if (!dequantize)
    return getTensorBytes(stack);
  uint64_t bytes =
      getTensorBytes(dequantize.getQuantized()) + getTensorBytes(dequantize.getScales());
  if (mlir::Value zeroPoints = dequantize.getZeroPoints())
    bytes += getTensorBytes(zeroPoints);
  return bytes;
}

/// The name of the ONNX node a location points to, or "".
std::string getNodeName(mlir::Location loc) {
  std::string name;
  loc->walk([&](mlir::Location nested) {
    if (auto named = dyn_cast<mlir::NameLoc>(nested)) {
      name = named.getName().str();
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  return name;
}

} // namespace

ModelShape moec::getModelShape(mlir::ModuleOp module) {
  ModelShape model;
  uint64_t constantBytes = 0;
  module.walk([&](mlir::Operation *op) {
    if (op->getNumOperands() != 0 || op->getNumResults() != 1)
      return;
    for (mlir::NamedAttribute attr : op->getAttrs())
      if (auto elements = dyn_cast<mlir::ElementsAttr>(attr.getValue()))
        if (elements.getShapedType().getElementType().isIntOrFloat())
          constantBytes += getStoredBytes(elements.getShapedType());
  });
  uint64_t routedBytes = 0;
  module.walk([&](moe::LayerOp layer) {
    MoELayerShape shape;
    shape.name = getNodeName(layer.getLoc());
    if (shape.name.empty())
      shape.name = "layer" + std::to_string(model.layers.size());
    shape.experts = layer.getNumExperts();
    shape.hidden = layer.getUpWeight().getType().getDimSize(1);
    shape.k = layer.getRouting().getK();
    uint64_t stackBytes = getStackBytes(layer.getUpWeight()) + getStackBytes(layer.getDownWeight());
    for (mlir::Value bias : {layer.getUpBias(), layer.getDownBias()})
      if (bias)
        stackBytes += getTensorBytes(bias);
    shape.expertBytes = stackBytes / shape.experts;
    shape.activationBytes = getElementBytes(layer.getTokens().getType().getElementType());
    routedBytes += stackBytes;
    model.layers.push_back(std::move(shape));
  });
  // Expert stacks that are not constants (model inputs) count for nothing replicated.
  model.replicatedBytes = constantBytes > routedBytes ? constantBytes - routedBytes : 0;
  return model;
}

std::optional<ModelShape> moec::parseLayerSpec(StringRef spec, std::string &error) {
  int64_t hidden = 0, experts = 0, ffn = 0, k = 0, shared = 0, gated = 1, layers = 1;
  uint64_t elementBytes = 2;
  SmallVector<StringRef> fields;
  spec.split(fields, ',', -1, /*KeepEmpty=*/false);
  for (StringRef field : fields) {
    auto [key, value] = field.split('=');
    key = key.trim();
    value = value.trim();
    if (key == "dtype") {
      std::optional<uint64_t> bytes = StringSwitch<std::optional<uint64_t>>(value)
                                          .Case("f32", 4)
                                          .Cases({"f16", "bf16"}, 2)
                                          .Default(std::nullopt);
      if (!bytes) {
        error = ("--layer: dtype=" + value + ": expected f32, f16 or bf16").str();
        return std::nullopt;
      }
      elementBytes = *bytes;
      continue;
    }
    int64_t *target = StringSwitch<int64_t *>(key)
                          .Case("hidden", &hidden)
                          .Case("experts", &experts)
                          .Case("ffn", &ffn)
                          .Case("k", &k)
                          .Case("shared", &shared)
                          .Case("gated", &gated)
                          .Case("layers", &layers)
                          .Default(nullptr);
    if (!target) {
      error = ("--layer: unknown key '" + key +
               "' (expected hidden, experts, ffn, k, shared, gated, dtype, layers)")
                  .str();
      return std::nullopt;
    }
    if (!to_integer(value, *target, 10) || *target < 0) {
      error = ("--layer: " + key + "=" + value + ": expected a non-negative integer").str();
      return std::nullopt;
    }
  }
  if (hidden <= 0 || experts <= 0 || ffn <= 0 || k <= 0 || layers <= 0 || k > experts ||
      gated > 1) {
    error = "--layer: give hidden, experts, ffn and k, all positive, with k <= experts "
            "(and gated=0 or 1)";
    return std::nullopt;
  }
  uint64_t expertBytes = uint64_t(gated ? 3 : 2) * hidden * ffn * elementBytes;
  uint64_t routerBytes = uint64_t(experts) * hidden * elementBytes;
  ModelShape model;
  for (int64_t l = 0; l < layers; ++l)
    model.layers.push_back({layers == 1 ? "layer" : "layer" + std::to_string(l), hidden,
                            experts, k, expertBytes, elementBytes});
  model.replicatedBytes = uint64_t(layers) * (routerBytes + uint64_t(shared) * expertBytes);
  return model;
}

ShardingPlan moec::planSharding(const ModelShape &model, const PlanOptions &options) {
  unsigned numRanks = options.numRanks;
  ShardingPlan plan;
  plan.numRanks = numRanks;
  plan.tokensPerRank = options.tokensPerRank;
  plan.ranks.resize(numRanks);
  for (RankPlan &rank : plan.ranks)
    rank.weightBytes = model.replicatedBytes;
  double tokens = double(options.tokensPerRank);
  for (auto [index, layer] : llvm::enumerate(model.layers)) {
    std::vector<double> loads = options.loads.empty() ? std::vector<double>(layer.experts, 1.0)
                                                      : options.loads[index];
    ExpertPlacement placement =
        !options.placements.empty() ? options.placements[index]
        : options.loads.empty() && options.replicateHot == 0
            ? placeExpertsUniformly(layer.experts, numRanks)
            : placeExpertsByLoad(loads, numRanks, options.replicateHot);
    std::vector<double> shares = placement.getRankShares(loads);
    std::vector<double> expertShares = getExpertShares(loads);
    double row = double(layer.hidden * layer.activationBytes);
    double pairsPerRank = tokens * double(layer.k);
    for (unsigned rank = 0; rank < numRanks; ++rank) {
      RankPlan &rankPlan = plan.ranks[rank];
      int64_t held = int64_t(placement.getExperts(rank).size());
      rankPlan.experts += held;
      rankPlan.weightBytes += uint64_t(held) * layer.expertBytes;
      rankPlan.pairsPerStep += shares[rank] * pairsPerRank * numRanks;
      if (numRanks > 1)
        rankPlan.sentBytesPerStep += double(numRanks - 1) * sizeof(int32_t);
    }
    // Every rank routes its own tokens alike; pairs whose expert lies elsewhere go out with
    // the expert's id and come back as output rows.
    for (int64_t e = 0; e < layer.experts; ++e) {
      const std::vector<unsigned> &holders = placement.holders[e];
      double pairs = pairsPerRank * expertShares[e];
      for (unsigned source = 0; source < numRanks; ++source) {
        if (llvm::is_contained(holders, source))
          continue;
        plan.ranks[source].sentBytesPerStep += pairs * (row + sizeof(int32_t));
        for (unsigned holder : holders)
          plan.ranks[holder].sentBytesPerStep += pairs / double(holders.size()) * row;
      }
    }
    double maxShare = *std::max_element(shares.begin(), shares.end());
    plan.imbalance = std::max(plan.imbalance, maxShare * numRanks);
  }
  for (const RankPlan &rank : plan.ranks)
    plan.exchangeBytesPerStep += rank.sentBytesPerStep;
  plan.exchangeBytesPerToken = plan.exchangeBytesPerStep / (tokens * numRanks);
  return plan;
}

namespace {

/// "512 B", "1.5 KiB", "21.0 GiB".
std::string formatBytes(double bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  unsigned unit = 0;
  while (bytes >= 1024 && unit + 1 < std::size(units)) {
    bytes /= 1024;
    ++unit;
  }
  std::string text;
  raw_string_ostream os(text);
  if (unit == 0)
    os << format("%.0f B", bytes);
  else
    os << format("%.1f %s", bytes, units[unit]);
  return text;
}

bool sameRow(const RankPlan &a, const RankPlan &b) {
  return a.experts == b.experts && a.weightBytes == b.weightBytes &&
         std::abs(a.pairsPerStep - b.pairsPerStep) < 1e-6 * std::max(1.0, a.pairsPerStep) &&
         std::abs(a.sentBytesPerStep - b.sentBytesPerStep) <
             1e-6 * std::max(1.0, a.sentBytesPerStep);
}

void printTable(const ShardingPlan &plan, raw_ostream &os) {
  os << "ranks " << plan.numRanks << ", " << plan.tokensPerRank << " tokens per rank per step\n";
  os << format("  %-11s %8s %12s %14s %14s\n", "rank", "experts", "weights", "pairs/step",
               "sent/step");
  // Consecutive ranks with the same numbers share a row.
  for (unsigned first = 0; first < plan.numRanks;) {
    unsigned last = first;
    while (last + 1 < plan.numRanks && sameRow(plan.ranks[first], plan.ranks[last + 1]))
      ++last;
    const RankPlan &rank = plan.ranks[first];
    std::string ranks = first == last ? std::to_string(first)
                                      : std::to_string(first) + "-" + std::to_string(last);
    os << format("  %-11s %8lld %12s %14.1f %14s\n", ranks.c_str(), (long long)rank.experts,
                 formatBytes(double(rank.weightBytes)).c_str(), rank.pairsPerStep,
                 formatBytes(rank.sentBytesPerStep).c_str());
    first = last + 1;
  }
  os << "  all-to-all: " << formatBytes(plan.exchangeBytesPerToken) << " per token, "
     << formatBytes(plan.exchangeBytesPerStep) << " per step; imbalance (max/mean) "
     << format("%.2f", plan.imbalance) << "\n";
}

void printSweep(ArrayRef<ShardingPlan> plans, raw_ostream &os) {
  os << format("%6s %16s %18s %14s %14s %10s\n", "ranks", "weights/rank", "pairs/step/rank",
               "a2a/token", "a2a/step", "imbalance");
  for (const ShardingPlan &plan : plans) {
    uint64_t weights = 0;
    double pairs = 0;
    for (const RankPlan &rank : plan.ranks) {
      weights = std::max(weights, rank.weightBytes);
      pairs = std::max(pairs, rank.pairsPerStep);
    }
    os << format("%6u %16s %18.1f %14s %14s %10.2f\n", plan.numRanks,
                 formatBytes(double(weights)).c_str(), pairs,
                 formatBytes(plan.exchangeBytesPerToken).c_str(),
                 formatBytes(plan.exchangeBytesPerStep).c_str(), plan.imbalance);
  }
  os << "(weights/rank and pairs/step/rank: the largest rank's)\n";
}

json::Value toJSON(const ShardingPlan &plan) {
  json::Array ranks;
  for (auto [index, rank] : llvm::enumerate(plan.ranks))
    ranks.push_back(json::Object{{"rank", int64_t(index)},
                                 {"experts", rank.experts},
                                 {"weight_bytes", int64_t(rank.weightBytes)},
                                 {"pairs_per_step", rank.pairsPerStep},
                                 {"sent_bytes_per_step", rank.sentBytesPerStep}});
  return json::Object{{"ranks", int64_t(plan.numRanks)},
                      {"tokens_per_rank", plan.tokensPerRank},
                      {"all_to_all_bytes_per_token", plan.exchangeBytesPerToken},
                      {"all_to_all_bytes_per_step", plan.exchangeBytesPerStep},
                      {"imbalance", plan.imbalance},
                      {"per_rank", std::move(ranks)}};
}

} // namespace

void moec::printShardingPlans(ArrayRef<ShardingPlan> plans, const ModelShape &model, bool json,
                              raw_ostream &os) {
  if (json) {
    json::Array layers, planValues;
    for (const MoELayerShape &layer : model.layers)
      layers.push_back(json::Object{{"name", layer.name},
                                    {"hidden", layer.hidden},
                                    {"experts", layer.experts},
                                    {"k", layer.k},
                                    {"expert_bytes", int64_t(layer.expertBytes)}});
    for (const ShardingPlan &plan : plans)
      planValues.push_back(toJSON(plan));
    os << formatv("{0:2}", json::Value(json::Object{
                               {"layers", std::move(layers)},
                               {"replicated_bytes", int64_t(model.replicatedBytes)},
                               {"plans", std::move(planValues)}}))
       << "\n";
    return;
  }
  os << model.layers.size() << " MoE layer" << (model.layers.size() == 1 ? "" : "s");
  if (!model.layers.empty()) {
    const MoELayerShape &first = model.layers.front();
    os << " (first: " << first.name << ", " << first.experts << " experts, top-" << first.k
       << ", hidden " << first.hidden << ", " << formatBytes(double(first.expertBytes))
       << " per expert)";
  }
  os << "; " << formatBytes(double(model.replicatedBytes)) << " of other weights on every rank\n";
  if (plans.size() == 1)
    return printTable(plans.front(), os);
  printSweep(plans, os);
}
