//===- ExpertPlacement.cpp - Which ranks hold which experts ---------------===//

#include "moec/Passes/Shard/ExpertPlacement.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <numeric>

using namespace llvm;
using namespace moec;

std::vector<int64_t> ExpertPlacement::getExperts(unsigned rank) const {
  std::vector<int64_t> experts;
  for (int64_t e = 0; e < getNumExperts(); ++e)
    if (llvm::is_contained(holders[e], rank))
      experts.push_back(e);
  return experts;
}

std::vector<double> moec::getExpertShares(llvm::ArrayRef<double> expertLoads) {
  double total = std::accumulate(expertLoads.begin(), expertLoads.end(), 0.0);
  std::vector<double> shares;
  for (double load : expertLoads)
    shares.push_back(total > 0 ? load / total : 1.0 / double(expertLoads.size()));
  return shares;
}

std::vector<double> ExpertPlacement::getRankShares(llvm::ArrayRef<double> expertLoads) const {
  std::vector<double> expertShares = getExpertShares(expertLoads);
  std::vector<double> shares(numRanks, 0.0);
  for (int64_t e = 0; e < getNumExperts(); ++e)
    for (unsigned rank : holders[e])
      shares[rank] += expertShares[e] / double(holders[e].size());
  return shares;
}

ExpertPlacement moec::placeExpertsUniformly(int64_t numExperts, unsigned numRanks) {
  ExpertPlacement placement;
  placement.numRanks = numRanks;
  placement.holders.resize(numExperts);
  // The first E % N ranks hold one expert more, so that with N > E the ranks without
  // experts are the last ones.
  int64_t base = numExperts / numRanks, extra = numExperts % numRanks;
  for (unsigned rank = 0; rank < numRanks; ++rank) {
    int64_t first = rank * base + std::min<int64_t>(rank, extra);
    int64_t count = base + (rank < extra ? 1 : 0);
    for (int64_t e = first; e < first + count; ++e)
      placement.holders[e] = {rank};
  }
  return placement;
}

ExpertPlacement moec::placeExpertsByLoad(llvm::ArrayRef<double> expertLoads, unsigned numRanks,
                                         unsigned replicateHot) {
  int64_t numExperts = static_cast<int64_t>(expertLoads.size());
  std::vector<int64_t> byLoad(numExperts);
  std::iota(byLoad.begin(), byLoad.end(), 0);
  // Heaviest first, equal loads by id.
  std::sort(byLoad.begin(), byLoad.end(), [&](int64_t a, int64_t b) {
    return expertLoads[a] != expertLoads[b] ? expertLoads[a] > expertLoads[b] : a < b;
  });

  ExpertPlacement placement;
  placement.numRanks = numRanks;
  placement.holders.resize(numExperts);
  std::vector<unsigned> everyRank(numRanks);
  std::iota(everyRank.begin(), everyRank.end(), 0u);
  for (int64_t i = 0; i < replicateHot; ++i)
    placement.holders[byLoad[i]] = everyRank;

  int64_t unreplicated = numExperts - replicateHot;
  int64_t capacity = (unreplicated + numRanks - 1) / numRanks;
  std::vector<double> rankLoad(numRanks, 0.0);
  std::vector<int64_t> rankExperts(numRanks, 0);
  for (int64_t i = replicateHot; i < numExperts; ++i) {
    int64_t expert = byLoad[i];
    unsigned best = numRanks;
    for (unsigned rank = 0; rank < numRanks; ++rank)
      if (rankExperts[rank] < capacity && (best == numRanks || rankLoad[rank] < rankLoad[best]))
        best = rank;
    placement.holders[expert] = {best};
    rankLoad[best] += expertLoads[expert];
    ++rankExperts[best];
  }
  return placement;
}

/// Reads `{"layers": [{KEY: [...]}, ...]}` from `path` (what `what` names): one layer per
/// entry of `expertsPerLayer`, each array one entry per expert; `readEntry(layer, value)`
/// reads every entry in order and returns why it does not fit, if it does not. False with
/// `error` set (naming the file) at the first thing that does not fit.
static bool readPerExpertFile(
    StringRef path, StringRef what, StringRef key, StringRef entries,
    ArrayRef<int64_t> expertsPerLayer,
    function_ref<std::optional<std::string>(size_t layer, const json::Value &entry)> readEntry,
    std::string &error) {
  auto fail = [&](const Twine &message) {
    error = (path + ": " + message).str();
    return false;
  };
  ErrorOr<std::unique_ptr<MemoryBuffer>> file = MemoryBuffer::getFile(path);
  if (!file)
    return fail("cannot read the " + what + ": " + file.getError().message());
  Expected<json::Value> parsed = json::parse((*file)->getBuffer());
  if (!parsed)
    return fail("not JSON: " + toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  const json::Array *layers = root ? root->getArray("layers") : nullptr;
  if (!layers)
    return fail("expected {\"layers\": [{\"" + key + "\": [...]}, ...]}");
  if (layers->size() != expertsPerLayer.size())
    return fail("has " + Twine(layers->size()) + " MoE layers, the model " +
                Twine(expertsPerLayer.size()));
  for (auto [index, layer] : llvm::enumerate(*layers)) {
    const json::Object *object = layer.getAsObject();
    const json::Array *values = object ? object->getArray(key) : nullptr;
    if (!values || int64_t(values->size()) != expertsPerLayer[index])
      return fail("layer " + Twine(index) + " needs \"" + key + "\" with " +
                  Twine(expertsPerLayer[index]) + " " + entries);
    for (const json::Value &value : *values)
      if (std::optional<std::string> problem = readEntry(index, value))
        return fail("layer " + Twine(index) + ": " + *problem);
  }
  return true;
}

std::optional<std::vector<std::vector<double>>>
moec::readExpertLoads(StringRef path, ArrayRef<int64_t> expertsPerLayer, std::string &error) {
  std::vector<std::vector<double>> loads(expertsPerLayer.size());
  auto readCount = [&](size_t layer, const json::Value &count) -> std::optional<std::string> {
    std::optional<double> number = count.getAsNumber();
    if (!number || *number < 0)
      return "a count that is not a non-negative number";
    loads[layer].push_back(*number);
    return std::nullopt;
  };
  if (!readPerExpertFile(path, "routing profile", "expert_tokens", "counts", expertsPerLayer,
                         readCount, error))
    return std::nullopt;
  return loads;
}

std::optional<std::vector<ExpertPlacement>>
moec::readExpertPlacements(StringRef path, ArrayRef<int64_t> expertsPerLayer,
                           unsigned numRanks, std::string &error) {
  std::vector<ExpertPlacement> placements(expertsPerLayer.size());
  for (ExpertPlacement &placement : placements)
    placement.numRanks = numRanks;
  std::vector<unsigned> everyRank(numRanks);
  std::iota(everyRank.begin(), everyRank.end(), 0u);
  auto readHolder = [&](size_t layer, const json::Value &holder) -> std::optional<std::string> {
    ExpertPlacement &placement = placements[layer];
    int64_t expert = placement.getNumExperts();
    if (holder.getAsString() == "all") {
      placement.holders.push_back(everyRank);
      return std::nullopt;
    }
    std::optional<int64_t> rank = holder.getAsInteger();
    if (!rank || *rank < 0 || *rank >= int64_t(numRanks))
      return ("expert " + Twine(expert) + ": expected a rank from 0 to " + Twine(numRanks - 1) +
              " or \"all\"")
          .str();
    placement.holders.push_back({unsigned(*rank)});
    return std::nullopt;
  };
  if (!readPerExpertFile(path, "placement", "expert_ranks", "ranks", expertsPerLayer,
                         readHolder, error))
    return std::nullopt;
  return placements;
}
