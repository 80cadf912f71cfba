//===- ShardingPlanTest.cpp - The numbers of moec plan --------------------===//
//
// planSharding's weight bytes, pairs and exchanged bytes per rank, checked against sums
// done by hand for small layers.
//
//===----------------------------------------------------------------------===//

#include "moec/Compiler/ShardingPlan.h"

#include <gtest/gtest.h>

using namespace moec;

namespace {

/// One layer: 4 experts of 100 bytes, top-1, hidden 2 of 4-byte elements (8-byte rows).
ModelShape smallModel() {
  ModelShape model;
  model.layers.push_back({"layer", /*hidden=*/2, /*experts=*/4, /*k=*/1,
                          /*expertBytes=*/100, /*activationBytes=*/4});
  model.replicatedBytes = 10;
  return model;
}

TEST(ShardingPlanTest, OneRankHoldsEverythingAndExchangesNothing) {
  PlanOptions options;
  options.tokensPerRank = 8;
  ShardingPlan plan = planSharding(smallModel(), options);
  ASSERT_EQ(plan.ranks.size(), 1u);
  EXPECT_EQ(plan.ranks[0].weightBytes, 410u);
  EXPECT_DOUBLE_EQ(plan.ranks[0].pairsPerStep, 8);
  EXPECT_DOUBLE_EQ(plan.exchangeBytesPerStep, 0);
  EXPECT_DOUBLE_EQ(plan.imbalance, 1);
}

TEST(ShardingPlanTest, UniformRoutingOverTwoRanks) {
  PlanOptions options;
  options.numRanks = 2;
  options.tokensPerRank = 8;
  ShardingPlan plan = planSharding(smallModel(), options);
  ASSERT_EQ(plan.ranks.size(), 2u);
  EXPECT_EQ(plan.ranks[0].experts, 2);
  EXPECT_EQ(plan.ranks[0].weightBytes, 210u);
  EXPECT_DOUBLE_EQ(plan.ranks[1].pairsPerStep, 8);
  // Half of a rank's 8 pairs go out (8-byte row + 4-byte id), as many come back to be
  // answered (8-byte row), and one count goes to the other rank: 4 * 12 + 4 * 8 + 4.
  EXPECT_DOUBLE_EQ(plan.ranks[0].sentBytesPerStep, 84);
  EXPECT_DOUBLE_EQ(plan.exchangeBytesPerStep, 168);
  EXPECT_DOUBLE_EQ(plan.exchangeBytesPerToken, 168.0 / 16);
}

TEST(ShardingPlanTest, AProfileBalancesAndMeasuresTheImbalance) {
  PlanOptions options;
  options.numRanks = 2;
  options.tokensPerRank = 10;
  options.loads = {{6, 2, 1, 1}};
  ShardingPlan plan = planSharding(smallModel(), options);
  // Expert 0 alone on rank 0 with expert 3 (capacity 2): shares 0.7 and 0.3.
  EXPECT_DOUBLE_EQ(plan.ranks[0].pairsPerStep, 14);
  EXPECT_DOUBLE_EQ(plan.ranks[1].pairsPerStep, 6);
  EXPECT_DOUBLE_EQ(plan.imbalance, 1.4);
}

TEST(ShardingPlanTest, ReplicatedExpertsAreComputedLocally) {
  PlanOptions options;
  options.numRanks = 2;
  options.tokensPerRank = 10;
  options.replicateHot = 4;
  ShardingPlan plan = planSharding(smallModel(), options);
  EXPECT_EQ(plan.ranks[1].weightBytes, 410u);
  // Only the token counts move.
  EXPECT_DOUBLE_EQ(plan.exchangeBytesPerStep, 8);
}

TEST(ShardingPlanTest, LayerSpecPricesGatedExpertsAndSharedOnes) {
  std::string error;
  std::optional<ModelShape> model =
      parseLayerSpec("hidden=4,experts=8,ffn=2,k=2,shared=1,dtype=f32", error);
  ASSERT_TRUE(model) << error;
  EXPECT_EQ(model->layers[0].expertBytes, 3u * 4 * 2 * 4);
  // The router (8 x 4) and the shared expert.
  EXPECT_EQ(model->replicatedBytes, 8u * 4 * 4 + 3u * 4 * 2 * 4);
  EXPECT_FALSE(parseLayerSpec("hidden=4,experts=8,ffn=2", error));
  EXPECT_EQ(error, "--layer: give hidden, experts, ffn and k, all positive, with k <= experts "
                   "(and gated=0 or 1)");
  EXPECT_FALSE(parseLayerSpec("hidden=4,experts=8,ffn=2,k=2,width=3", error));
  EXPECT_FALSE(parseLayerSpec("hidden=4,experts=8,ffn=2,k=2,dtype=f8", error));
}

} // namespace
