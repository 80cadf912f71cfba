//===- ExpertPlacementTest.cpp - Uniform and load-balanced expert placement ===//
//
// The placement that `moec plan` prices and the sharding pass builds: contiguous blocks by
// default; by load, heaviest first onto the least-loaded rank with room; hot experts held by
// every rank, their load split evenly.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/Shard/ExpertPlacement.h"

#include <gtest/gtest.h>

using namespace moec;

namespace {

using Experts = std::vector<int64_t>;
using Ranks = std::vector<unsigned>;

TEST(ExpertPlacementTest, UniformIsContiguousBlocks) {
  ExpertPlacement placement = placeExpertsUniformly(8, 4);
  EXPECT_EQ(placement.getExperts(0), (Experts{0, 1}));
  EXPECT_EQ(placement.getExperts(3), (Experts{6, 7}));
  EXPECT_EQ(placement.holders[5], (Ranks{2}));
}

TEST(ExpertPlacementTest, UniformBlocksDifferByAtMostOne) {
  ExpertPlacement placement = placeExpertsUniformly(7, 3);
  EXPECT_EQ(placement.getExperts(0), (Experts{0, 1, 2}));
  EXPECT_EQ(placement.getExperts(1), (Experts{3, 4}));
  EXPECT_EQ(placement.getExperts(2), (Experts{5, 6}));
}

TEST(ExpertPlacementTest, MoreRanksThanExpertsLeavesTheLastRanksEmpty) {
  ExpertPlacement placement = placeExpertsUniformly(2, 4);
  EXPECT_EQ(placement.getExperts(0), (Experts{0}));
  EXPECT_EQ(placement.getExperts(1), (Experts{1}));
  EXPECT_TRUE(placement.getExperts(2).empty());
  EXPECT_TRUE(placement.getExperts(3).empty());
  EXPECT_EQ(placement.getRankShares({3, 1}), (std::vector<double>{0.75, 0.25, 0, 0}));
}

TEST(ExpertPlacementTest, ByLoadPutsTheHeaviestFirstOntoTheLeastLoadedRank) {
  // 9 to rank 0, 7 to rank 1, 6 to rank 1 (7 < 9), 2 to rank 0 (9 < 13): 11 and 13.
  ExpertPlacement placement = placeExpertsByLoad({2, 9, 6, 7}, 2);
  EXPECT_EQ(placement.getExperts(0), (Experts{0, 1}));
  EXPECT_EQ(placement.getExperts(1), (Experts{2, 3}));
  std::vector<double> shares = placement.getRankShares({2, 9, 6, 7});
  EXPECT_DOUBLE_EQ(shares[0], 11.0 / 24);
  EXPECT_DOUBLE_EQ(shares[1], 13.0 / 24);
}

TEST(ExpertPlacementTest, ByLoadKeepsTheExpertCountsEven) {
  // Unbounded, the greedy would put all three light experts beside each other; every rank
  // holds at most ceil(4 / 2) = 2.
  ExpertPlacement placement = placeExpertsByLoad({100, 1, 1, 1}, 2);
  EXPECT_EQ(placement.getExperts(0), (Experts{0, 3}));
  EXPECT_EQ(placement.getExperts(1), (Experts{1, 2}));
}

TEST(ExpertPlacementTest, EqualLoadsGoRoundRobinByIdAndRank) {
  ExpertPlacement placement = placeExpertsByLoad({1, 1, 1, 1}, 2);
  EXPECT_EQ(placement.getExperts(0), (Experts{0, 2}));
  EXPECT_EQ(placement.getExperts(1), (Experts{1, 3}));
}

TEST(ExpertPlacementTest, HotExpertsAreOnEveryRankAndTheirLoadSplits) {
  ExpertPlacement placement = placeExpertsByLoad({1, 10, 2, 3}, 2, /*replicateHot=*/1);
  EXPECT_TRUE(placement.isReplicated(1));
  EXPECT_FALSE(placement.isReplicated(3));
  EXPECT_EQ(placement.holders[1], (Ranks{0, 1}));
  // The others, balanced: 3 to rank 0, 2 to rank 1, 1 to rank 1.
  EXPECT_EQ(placement.getExperts(0), (Experts{1, 3}));
  EXPECT_EQ(placement.getExperts(1), (Experts{0, 1, 2}));
  std::vector<double> shares = placement.getRankShares({1, 10, 2, 3});
  EXPECT_DOUBLE_EQ(shares[0], (5.0 + 3.0) / 16);
  EXPECT_DOUBLE_EQ(shares[1], (5.0 + 2.0 + 1.0) / 16);
}

TEST(ExpertPlacementTest, ZeroLoadsCountAsUniform) {
  EXPECT_EQ(getExpertShares({0, 0, 0, 0}), (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
  EXPECT_EQ(placeExpertsUniformly(4, 2).getRankShares({0, 0, 0, 0}),
            (std::vector<double>{0.5, 0.5}));
}

} // namespace
