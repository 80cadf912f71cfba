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

std::optional<std::vector<std::vector<double>>>
moec::readExpertLoads(StringRef path, ArrayRef<int64_t> expertsPerLayer, std::string &error) {
  auto fail = [&](const Twine &message) {
    error = (path + ": " + message).str();
    return std::nullopt;
  };
  ErrorOr<std::unique_ptr<MemoryBuffer>> file = MemoryBuffer::getFile(path);
  if (!file)
    return fail("cannot read the routing profile: " + file.getError().message());
  Expected<json::Value> parsed = json::parse((*file)->getBuffer());
  if (!parsed)
    return fail("not JSON: " + toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  const json::Array *layers = root ? root->getArray("layers") : nullptr;
  if (!layers)
    return fail("expected {\"layers\": [...]} as `moec profile` writes");
  if (layers->size() != expertsPerLayer.size())
    return fail("has " + Twine(layers->size()) + " MoE layers, the model " +
                Twine(expertsPerLayer.size()));
  std::vector<std::vector<double>> loads;
  for (auto [index, layer] : llvm::enumerate(*layers)) {
    const json::Object *object = layer.getAsObject();
    const json::Array *counts = object ? object->getArray("expert_tokens") : nullptr;
    if (!counts || int64_t(counts->size()) != expertsPerLayer[index])
      return fail("layer " + Twine(index) + " needs \"expert_tokens\" with " +
                  Twine(expertsPerLayer[index]) + " counts");
    std::vector<double> &layerLoads = loads.emplace_back();
    for (const json::Value &count : *counts) {
      std::optional<double> number = count.getAsNumber();
      if (!number || *number < 0)
        return fail("layer " + Twine(index) + ": a count that is not a non-negative number");
      layerLoads.push_back(*number);
    }
  }
  return loads;
}
