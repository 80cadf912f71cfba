//===- PlanCommand.cpp - moec plan: the cost of sharding experts ----------===//
//
// `moec plan [--shard-experts=N] (MODEL | --layer SPEC) [--profile FILE] [--json]`: raises
// the model's MoE layers (or takes one layer's shape) and prints, without running anything,
// what placing the experts on N ranks costs per rank (moec/Compiler/ShardingPlan.h), for N
// given or for N = 1, 2, 4, ..., 256.
//
// Exit codes as moec's: 1 a bad command line, 2 a bad model or profile.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "moec/Passes/Shard/ExpertPlacement.h"

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

using namespace llvm;

namespace {

constexpr unsigned maxSweptRanks = 256;

cl::OptionCategory planCategory("moec plan options");

struct PlanCommandOptions {
  cl::opt<std::string> modelPath{cl::Positional, cl::desc("<model.onnx | model.mlir>"),
                                 cl::cat(planCategory)};
  cl::opt<unsigned> shardExperts{
      "shard-experts", cl::value_desc("N"), cl::init(0),
      cl::desc("Plan for N ranks (default: N = 1, 2, 4, ..., 256)"), cl::cat(planCategory)};
  cl::opt<std::string> layer{
      "layer", cl::value_desc("spec"),
      cl::desc("Plan one layer shape instead of a model: hidden=H,experts=E,ffn=I,k=K[,shared=S]"
               "[,gated=0|1][,dtype=f32|f16|bf16][,layers=L]"),
      cl::cat(planCategory)};
  cl::opt<std::string> profile{
      "profile", cl::value_desc("file"),
      cl::desc("Per-expert token counts from `moec profile`: balance the placement by load"),
      cl::cat(planCategory)};
  cl::opt<unsigned> replicateHot{
      "replicate-hot", cl::value_desc("K"), cl::init(0),
      cl::desc("Hold the K most loaded experts of every layer on every rank"),
      cl::cat(planCategory)};
  cl::opt<std::string> placement{
      "placement", cl::value_desc("file"),
      cl::desc("Each expert's rank, per layer (JSON, docs/sharding.md), instead of placing "
               "them; needs --shard-experts"),
      cl::cat(planCategory)};
  cl::opt<int64_t> tokens{"tokens", cl::value_desc("T"), cl::init(1024),
                          cl::desc("Tokens each rank brings to a step"),
                          cl::cat(planCategory)};
  cl::opt<bool> json{"json", cl::init(false), cl::desc("Print JSON"), cl::cat(planCategory)};
};

} // namespace

int runPlanCommand(int argc, char **argv) {
  PlanCommandOptions options;
  parseCommandLine(argc, argv, planCategory,
                   "moec plan: the cost of sharding the experts over N ranks\n");
  auto usageError = [](const Twine &message) {
    errs() << "error: " << message << "\n";
    return exitBadCommandLine;
  };
  if (options.modelPath.empty() == options.layer.empty())
    return usageError("give a model or --layer (see moec plan --help)");
  if (options.tokens <= 0)
    return usageError("--tokens: expected a positive number");

  std::optional<moec::ModelShape> model;
  std::string error;
  if (!options.layer.empty()) {
    model = moec::parseLayerSpec(options.layer, error);
    if (!model)
      return usageError(error);
  } else {
    int exitCode;
    model = raiseModelShape(options.modelPath, exitCode);
    if (!model)
      return exitCode;
  }
  if (model->layers.empty()) {
    errs() << "error: " << options.modelPath << ": no MoE layer was raised; nothing to shard\n";
    return exitBadInput;
  }
  for (const moec::MoELayerShape &layer : model->layers)
    if (options.replicateHot > layer.experts)
      return usageError("--replicate-hot=" + Twine(options.replicateHot) + ": layer " +
                        layer.name + " has only " + Twine(layer.experts) + " experts");

  moec::PlanOptions planOptions;
  planOptions.tokensPerRank = options.tokens;
  planOptions.replicateHot = options.replicateHot;
  if (!options.placement.empty() &&
      (options.shardExperts == 0 || options.replicateHot > 0))
    return usageError("--placement places the experts for one --shard-experts=N, without "
                      "--replicate-hot");
  std::vector<int64_t> experts;
  for (const moec::MoELayerShape &layer : model->layers)
    experts.push_back(layer.experts);
  if (!options.placement.empty()) {
    std::optional<std::vector<moec::ExpertPlacement>> placements =
        moec::readExpertPlacements(options.placement, experts, options.shardExperts, error);
    if (!placements) {
      errs() << "error: " << error << "\n";
      return exitBadInput;
    }
    planOptions.placements = std::move(*placements);
  }
  if (!options.profile.empty()) {
    std::optional<std::vector<std::vector<double>>> loads =
        moec::readExpertLoads(options.profile, experts, error);
    if (!loads) {
      errs() << "error: " << error << "\n";
      return exitBadInput;
    }
    planOptions.loads = std::move(*loads);
  }

  std::vector<unsigned> rankCounts;
  if (options.shardExperts.getNumOccurrences())
    rankCounts.push_back(options.shardExperts);
  else
    for (unsigned n = 1; n <= maxSweptRanks; n *= 2)
      rankCounts.push_back(n);
  if (rankCounts.front() == 0)
    return usageError("--shard-experts: expected at least one rank");

  std::vector<moec::ShardingPlan> plans;
  for (unsigned numRanks : rankCounts) {
    planOptions.numRanks = numRanks;
    plans.push_back(moec::planSharding(*model, planOptions));
  }
  moec::printShardingPlans(plans, *model, options.json, outs());
  return 0;
}
