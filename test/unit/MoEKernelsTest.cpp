//===- MoEKernelsTest.cpp - The runtime's MoE kernels against naive code --===//

#include "cpu/ThreadPool.h"

#include "moec-runtime/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace moec::rt;

namespace {

//===----------------------------------------------------------------------===//
// Routing
//===----------------------------------------------------------------------===//

struct RoutingCase {
  int64_t experts, k;
  int32_t scoring = MOEC_RT_SCORING_SOFTMAX;
  bool renormalize = false, topkFirst = false;
  int64_t nGroup = 1, topkGroup = 1;
  float scale = 1.0f;
  float renormalizeEpsilon = 0.0f;
  float jitterEps = 0.01f;
  bool zeroMaskedGroups = false;
};

using ScoreBias = std::vector<float>;

struct Routed {
  std::vector<float> weights;
  std::vector<int32_t> ids;
};

Routed route(const RoutingCase &c, const std::vector<float> &logits,
             const ScoreBias &scoreBias = {}) {
  int64_t tokens = int64_t(logits.size()) / c.experts;
  Routed out{std::vector<float>(tokens * c.k), std::vector<int32_t>(tokens * c.k)};
  moec_rt_moe_route_f32(tokens, c.experts, logits.data(),
                        scoreBias.empty() ? nullptr : scoreBias.data(), c.k, c.scoring,
                        c.renormalize, c.renormalizeEpsilon, c.topkFirst, c.nGroup, c.topkGroup,
                        c.zeroMaskedGroups, c.scale, c.jitterEps, out.weights.data(),
                        out.ids.data());
  return out;
}

// Index of the largest of `values` among `allowed`, the lowest index on ties.
int64_t argmax(const std::vector<double> &values, const std::vector<bool> &allowed) {
  int64_t best = -1;
  for (int64_t i = 0; i < int64_t(values.size()); ++i)
    if (allowed[i] && (best < 0 || values[i] > values[best]))
      best = i;
  return best;
}

// SparseMixer's weight of expert `chosen` as #moe.routing defines it, with the mask
// written as a ratio like onnxruntime's torch reference: the softmax at its logit over the
// logits it does not mask, the `earlier` chosen experts left out.
double naiveSparseMixerWeight(const std::vector<double> &logits, double jitterEps,
                              int32_t chosen, const std::vector<int32_t> &earlier) {
  double threshold = logits[chosen], sum = 0;
  for (int64_t e = 0; e < int64_t(logits.size()); ++e) {
    bool masked =
        (threshold - logits[e]) / std::max(std::abs(logits[e]), threshold) > 2 * jitterEps;
    if (!masked && std::find(earlier.begin(), earlier.end(), e) == earlier.end())
      sum += std::exp(logits[e] - threshold);
  }
  return 1 / sum;
}

// The #moe.routing semantics, one token, by repeated argmax in double precision.
Routed naiveRoute(const RoutingCase &c, const float *logits, const ScoreBias &scoreBias) {
  int64_t E = c.experts;
  std::vector<double> scores(E), choice(E);
  double max = *std::max_element(logits, logits + E), sum = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (c.topkFirst || c.scoring == MOEC_RT_SCORING_SPARSE_MIXER)
      scores[e] = logits[e];
    else if (c.scoring == MOEC_RT_SCORING_SIGMOID)
      scores[e] = 1 / (1 + std::exp(-double(logits[e])));
    else if (c.scoring == MOEC_RT_SCORING_SQRT_SOFTPLUS)
      scores[e] = std::sqrt(std::log(1 + std::exp(double(logits[e]))));
    else
      sum += scores[e] = std::exp(double(logits[e]) - max);
  }
  if (c.scoring == MOEC_RT_SCORING_SOFTMAX && !c.topkFirst)
    for (double &s : scores)
      s /= sum;
  for (int64_t e = 0; e < E; ++e)
    choice[e] = scores[e] + (scoreBias.empty() ? 0.0 : scoreBias[e]);

  std::vector<bool> allowed(E, true);
  if (c.topkGroup < c.nGroup) {
    int64_t size = E / c.nGroup;
    std::vector<double> groupScore(c.nGroup);
    for (int64_t g = 0; g < c.nGroup; ++g) {
      std::vector<bool> inGroup(E, false);
      for (int64_t e = 0; e < size; ++e)
        inGroup[g * size + e] = true;
      for (int pick = 0; pick < std::min<int64_t>(2, size); ++pick) {
        int64_t best = argmax(choice, inGroup);
        groupScore[g] += choice[best];
        inGroup[best] = false;
      }
    }
    std::vector<bool> groupLeft(c.nGroup, true);
    std::fill(allowed.begin(), allowed.end(), false);
    for (int64_t i = 0; i < c.topkGroup; ++i) {
      int64_t g = argmax(groupScore, groupLeft);
      groupLeft[g] = false;
      for (int64_t e = 0; e < size; ++e)
        allowed[g * size + e] = true;
    }
    if (c.zeroMaskedGroups)
      for (int64_t e = 0; e < E; ++e) {
        choice[e] = allowed[e] ? choice[e] : 0.0;
        allowed[e] = true;
      }
  }
  Routed out;
  for (int64_t j = 0; j < c.k; ++j) {
    int64_t best = argmax(choice, allowed);
    allowed[best] = false;
    out.ids.push_back(int32_t(best));
  }
  std::vector<double> weights;
  double total = 0;
  for (int32_t id : out.ids) {
    double w = scores[id];
    if (c.topkFirst && c.scoring == MOEC_RT_SCORING_SOFTMAX)
      w = std::exp(scores[id] - scores[out.ids[0]]);
    if (c.topkFirst && c.scoring == MOEC_RT_SCORING_SIGMOID)
      w = 1 / (1 + std::exp(-scores[id]));
    if (c.scoring == MOEC_RT_SCORING_SPARSE_MIXER)
      w = naiveSparseMixerWeight(scores, c.jitterEps, id,
                                 {out.ids.begin(), out.ids.begin() + weights.size()});
    weights.push_back(w);
    total += w;
  }
  bool divide = c.renormalize || (c.topkFirst && c.scoring == MOEC_RT_SCORING_SOFTMAX);
  if (c.renormalize)
    total += c.renormalizeEpsilon;
  for (double w : weights)
    out.weights.push_back(float((divide ? w / total : w) * c.scale));
  return out;
}

void checkRouting(const RoutingCase &c, int64_t tokens, unsigned seed,
                  const ScoreBias &scoreBias = {},
                  std::normal_distribution<float> logitDistribution = {}) {
  std::mt19937 random(seed);
  std::vector<float> logits(tokens * c.experts);
  for (float &v : logits)
    v = logitDistribution(random);
  Routed got = route(c, logits, scoreBias);
  for (int64_t t = 0; t < tokens; ++t) {
    Routed expected = naiveRoute(c, logits.data() + t * c.experts, scoreBias);
    for (int64_t j = 0; j < c.k; ++j) {
      EXPECT_EQ(got.ids[t * c.k + j], expected.ids[j]) << "token " << t << " slot " << j;
      EXPECT_NEAR(got.weights[t * c.k + j], expected.weights[j], 1e-5)
          << "token " << t << " slot " << j;
    }
  }
}

TEST(MoERoute, SoftmaxTop2Renormalized) {
  // logits 1, 3, 2, 0: experts 1 then 2, weights e^3 : e^2.
  Routed r = route({4, 2, MOEC_RT_SCORING_SOFTMAX, /*renormalize=*/true}, {1, 3, 2, 0});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  float e = std::exp(1.0f);
  EXPECT_NEAR(r.weights[0], e / (e + 1), 1e-6);
  EXPECT_NEAR(r.weights[1], 1 / (e + 1), 1e-6);
  checkRouting({8, 2, MOEC_RT_SCORING_SOFTMAX, true}, 33, 1);
}

TEST(MoERoute, SoftmaxTop2NotRenormalized) {
  Routed r = route({4, 2}, {1, 3, 2, 0});
  float sum = std::exp(1.0f) + std::exp(3.0f) + std::exp(2.0f) + 1;
  EXPECT_NEAR(r.weights[0], std::exp(3.0f) / sum, 1e-6);
  EXPECT_NEAR(r.weights[1], std::exp(2.0f) / sum, 1e-6);
  checkRouting({8, 2}, 33, 2);
}

TEST(MoERoute, Top1) { checkRouting({16, 1, MOEC_RT_SCORING_SOFTMAX}, 40, 3); }

TEST(MoERoute, TiesGoToTheLowerExpert) {
  Routed r = route({4, 2, MOEC_RT_SCORING_SOFTMAX, true}, {0.5f, 1, 0.5f, 1});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 3}));
}

TEST(MoERoute, SigmoidScoreBiasGroupsAndScaling) {
  checkRouting({8, 2, MOEC_RT_SCORING_SIGMOID, true, false, 4, 2, 2.5f}, 64, 4,
               {0.3f, -0.2f, 0.1f, 0.0f, -0.4f, 0.25f, 0.05f, -0.1f});
  // The bias chooses, the weights stay unbiased: expert 0 wins only through its bias.
  Routed r = route({4, 1, MOEC_RT_SCORING_SIGMOID}, {0, 0.5f, 0, 0}, {1, 0, 0, 0});
  EXPECT_EQ(r.ids[0], 0);
  EXPECT_NEAR(r.weights[0], 0.5f, 1e-6);
}

TEST(MoERoute, RenormalizedWithAnEpsilonAddedToTheSum) {
  // Sigmoid scores 1/2 and 1/2 (logits 0): each weighs 1/2 / (1 + 1) = 1/4, not 1/2.
  RoutingCase c{4, 2, MOEC_RT_SCORING_SIGMOID, true};
  c.renormalizeEpsilon = 1.0f;
  Routed r = route(c, {0, -5, 0, -5});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 2}));
  EXPECT_NEAR(r.weights[0], 0.25f, 1e-6);
  EXPECT_NEAR(r.weights[1], 0.25f, 1e-6);
  c = {8, 3, MOEC_RT_SCORING_SIGMOID, true, false, 4, 2, 2.5f, 1e-6f};
  checkRouting(c, 64, 9, {0.3f, -0.2f, 0.1f, 0.0f, -0.4f, 0.25f, 0.05f, -0.1f});
}

TEST(MoERoute, TopkFirstSigmoidChoosesOnTheBiasedLogits) {
  // Logits 20 and 25 both have a sigmoid of 1.0f: only the logits tell them apart.
  RoutingCase c{4, 1, MOEC_RT_SCORING_SIGMOID, false, /*topkFirst=*/true};
  Routed r = route(c, {20, 25, 0, -1});
  EXPECT_EQ(r.ids[0], 1);
  EXPECT_NEAR(r.weights[0], 1.0f, 1e-6);
  // The bias is added to the logits for choosing only: expert 0 wins by its bias and
  // weighs sigmoid(0).
  r = route(c, {0, 0.5f, 0, 0}, {1, 0, 0, 0});
  EXPECT_EQ(r.ids[0], 0);
  EXPECT_NEAR(r.weights[0], 0.5f, 1e-6);
  checkRouting({8, 3, MOEC_RT_SCORING_SIGMOID, true, true, 1, 1, 2.0f}, 64, 10,
               {0.3f, -0.2f, 0.1f, 0.0f, -0.4f, 0.25f, 0.05f, -0.1f});
}

TEST(MoERoute, SqrtSoftplusScoresWeighTheChosenExperts) {
  // Logits 0 and log(e^4 - 1) score sqrt(log 2) and 2; renormalized, 2 / (2 + sqrt(log 2)).
  RoutingCase c{4, 2, MOEC_RT_SCORING_SQRT_SOFTPLUS, /*renormalize=*/true};
  Routed r = route(c, {-3, std::log(std::exp(4.0f) - 1), 0, -1});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  float low = std::sqrt(std::log(2.0f));
  EXPECT_NEAR(r.weights[0], 2 / (2 + low), 1e-6);
  EXPECT_NEAR(r.weights[1], low / (2 + low), 1e-6);
  // Far above the softplus threshold, the score is sqrt of the logit itself.
  r = route({2, 1, MOEC_RT_SCORING_SQRT_SOFTPLUS}, {100, 0});
  EXPECT_NEAR(r.weights[0], 10.0f, 1e-5);
  checkRouting({8, 3, MOEC_RT_SCORING_SQRT_SOFTPLUS, true, false, 1, 1, 1.5f}, 64, 11,
               {0.3f, -0.2f, 0.1f, 0.0f, -0.4f, 0.25f, 0.05f, -0.1f});
}

TEST(MoERoute, ZeroMaskedGroupsStillCompeteAtZero) {
  // Groups {0, 1} and {2, 3}: group 0 (scores 1/2 + 1/2 - bias 0.6 each) ranks below group 1
  // (1/2 + 0.9 and 1/2 - 0.9), but the masked experts 0 and 1 at 0 beat expert 3 at -0.4.
  RoutingCase c{4, 2, MOEC_RT_SCORING_SIGMOID, false, false, 2, 1};
  ScoreBias bias{-0.6f, -0.6f, 0.9f, -0.9f};
  std::vector<float> logits{0, 0, 0, 0};
  EXPECT_EQ(route(c, logits, bias).ids, (std::vector<int32_t>{2, 3}));
  c.zeroMaskedGroups = true;
  EXPECT_EQ(route(c, logits, bias).ids, (std::vector<int32_t>{2, 0}));
  c = {16, 4, MOEC_RT_SCORING_SIGMOID, true, false, 4, 2, 2.5f};
  c.zeroMaskedGroups = true;
  checkRouting(c, 64, 12,
               {-0.3f, -0.9f, 0.1f, 0.0f, -0.4f, 0.25f, -0.95f, -0.1f, -0.8f, -0.7f, 0.2f, -0.6f,
                -0.5f, 0.3f, -0.45f, -0.75f});
}

TEST(MoERoute, GroupsRankedByTheirTwoBestScores) {
  // Group 0 holds the single best expert, but group 1's two best sum higher.
  RoutingCase c{6, 1, MOEC_RT_SCORING_SIGMOID, false, false, 2, 1};
  Routed r = route(c, {3, -3, -3, 1, 1, -3});
  EXPECT_EQ(r.ids[0], 3);
  checkRouting({16, 4, MOEC_RT_SCORING_SOFTMAX, true, false, 4, 2}, 50, 5);
}

TEST(MoERoute, TopkFirst) {
  Routed r = route({4, 2, MOEC_RT_SCORING_SOFTMAX, false, /*topkFirst=*/true}, {0.5f, 2, 1, -1});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  float e = std::exp(1.0f);
  EXPECT_NEAR(r.weights[0], e / (e + 1), 1e-6);
  checkRouting({32, 4, MOEC_RT_SCORING_SOFTMAX, false, true}, 20, 6);
}

TEST(MoERoute, SparseMixerMasksLogitsFarBelowTheChosen) {
  // 2.98 is within 2% of 3, 2.9 and 1 are not; 2.9 is not within 2% of 2.98 either.
  Routed r = route({4, 2, MOEC_RT_SCORING_SPARSE_MIXER}, {1, 3, 2.98f, 2.9f});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], 1 / (1 + std::exp(2.98f - 3)), 1e-6);
  EXPECT_NEAR(r.weights[1], 1.0f, 1e-6);
}

TEST(MoERoute, SparseMixerMeasuresNegativeLogitsAgainstTheirMagnitude) {
  // Against -1, -1.01 is 0.01 below (within 2% of 1.01), -1.03 is 0.03 below (not within
  // 2% of 1.03); against -1.01, -1.03 is 0.02 below, within 2% of 1.03.
  Routed r = route({4, 2, MOEC_RT_SCORING_SPARSE_MIXER}, {-1.03f, -1, -1.01f, -5});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  EXPECT_NEAR(r.weights[0], 1 / (1 + std::exp(-1.01f + 1)), 1e-6);
  EXPECT_NEAR(r.weights[1], 1 / (1 + std::exp(-1.03f + 1.01f)), 1e-6);
}

TEST(MoERoute, SparseMixerTiesGoToTheLowerExpertAndShareTheFirstWeight) {
  // The tied second expert is unmasked for the first; the first is left out for the second.
  Routed r = route({4, 2, MOEC_RT_SCORING_SPARSE_MIXER}, {0.5f, 2, 0.5f, 2});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(r.weights[0], 0.5f, 1e-6);
  EXPECT_NEAR(r.weights[1], 1.0f, 1e-6);
}

TEST(MoERoute, SparseMixerWithAllButTheChosenMaskedWeighsOne) {
  Routed r = route({4, 2, MOEC_RT_SCORING_SPARSE_MIXER, false, false, 1, 1, 2.5f},
                   {-1, 4, 0, 1});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(r.weights, (std::vector<float>{2.5f, 2.5f}));
}

TEST(MoERoute, SparseMixerAgainstTheNaiveDefinition) {
  RoutingCase c{8, 2, MOEC_RT_SCORING_SPARSE_MIXER};
  checkRouting(c, 64, 7);
  // Logits this close together make the masks keep some experts and drop others.
  checkRouting(c, 64, 8, {}, std::normal_distribution<float>(2, 0.03f));
  checkRouting(c, 64, 9, {}, std::normal_distribution<float>(-2, 0.03f));
}

TEST(MoERoute, SparseMixerMasksByItsJitterEps) {
  // With jitter_eps = 0 (transformers' PhiMoE with router_jitter_noise = 0) only logits
  // equal to the chosen one stay unmasked; with 0.05, 2.9 is within 10% of 3.
  RoutingCase c{4, 2, MOEC_RT_SCORING_SPARSE_MIXER};
  c.jitterEps = 0.0f;
  Routed r = route(c, {1, 3, 2.98f, 2.9f});
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(r.weights, (std::vector<float>{1.0f, 1.0f}));
  c.jitterEps = 0.05f;
  r = route(c, {1, 3, 2.98f, 2.9f});
  EXPECT_NEAR(r.weights[0], 1 / (1 + std::exp(2.98f - 3) + std::exp(2.9f - 3)), 1e-6);
  checkRouting(c, 64, 10, {}, std::normal_distribution<float>(2, 0.1f));
}

// The router fusion's kernel against the route of logits computed apart. With small
// integer tokens, router weights and biases every logit is an integer that f32 holds
// exactly, whatever the order of the sums, so the two must agree bit for bit; every third
// router row repeats the one before it, which ties those experts' logits.
void checkFusedRouterIsTheRoute(const RoutingCase &c, int64_t tokens, int64_t hidden, unsigned seed,
                                bool routerBias, const ScoreBias &scoreBias = {}) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> small(-3, 3);
  std::vector<float> input(tokens * hidden), router(c.experts * hidden), bias;
  for (float &value : input)
    value = float(small(rng));
  for (int64_t e = 0; e < c.experts; ++e)
    for (int64_t h = 0; h < hidden; ++h)
      router[e * hidden + h] = e % 3 == 2 ? router[(e - 1) * hidden + h] : float(small(rng));
  if (routerBias)
    for (int64_t e = 0; e < c.experts; ++e)
      bias.push_back(float(small(rng)));
  std::vector<float> logits(tokens * c.experts);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t e = 0; e < c.experts; ++e) {
      double logit = routerBias ? bias[e] : 0.0;
      for (int64_t h = 0; h < hidden; ++h)
        logit += double(input[t * hidden + h]) * router[e * hidden + h];
      logits[t * c.experts + e] = float(logit);
    }
  Routed expected = route(c, logits, scoreBias);
  Routed fused{std::vector<float>(tokens * c.k), std::vector<int32_t>(tokens * c.k)};
  moec_rt_moe_route_tokens_f32(
      tokens, hidden, c.experts, input.data(), router.data(), routerBias ? bias.data() : nullptr,
      scoreBias.empty() ? nullptr : scoreBias.data(), c.k, c.scoring, c.renormalize,
      c.renormalizeEpsilon, c.topkFirst, c.nGroup, c.topkGroup, c.zeroMaskedGroups, c.scale,
      c.jitterEps, fused.weights.data(), fused.ids.data());
  EXPECT_EQ(fused.ids, expected.ids);
  EXPECT_EQ(fused.weights, expected.weights);
}

// Hidden sizes that are no multiple of the 16 or 32 lanes check the dot product's tail; 300
// tokens of 16 x 100 split over the threads.
TEST(MoERouteTokens, SoftmaxTop2WithRouterBiasIsTheRoute) {
  checkFusedRouterIsTheRoute({16, 2, MOEC_RT_SCORING_SOFTMAX, /*renormalize=*/true}, 300, 100, 11,
                             /*routerBias=*/true);
}

TEST(MoERouteTokens, GroupedSigmoidWithScoreBiasIsTheRoute) {
  checkFusedRouterIsTheRoute({16, 4, MOEC_RT_SCORING_SIGMOID, true, false, 4, 2, 2.5f}, 40, 37, 12,
                             /*routerBias=*/false,
                             ScoreBias{0.5f, 0, 0, 0.25f, 0, 0, 1, 0, 0, 0, 0.5f, 0, 0, 0, 0, 0});
}

TEST(MoERouteTokens, TopkFirstAndSparseMixerAreTheRoute) {
  checkFusedRouterIsTheRoute({8, 2, MOEC_RT_SCORING_SOFTMAX, false, /*topkFirst=*/true}, 25, 64, 13,
                             true);
  checkFusedRouterIsTheRoute({8, 2, MOEC_RT_SCORING_SPARSE_MIXER}, 25, 5, 14, false);
}

// 10 experts: two tiles of 4 and two of one; 7 tokens: a tile of 4 and one of 3.
TEST(MoERouteTokens, ExpertsAndTokensLeftOverFromTilesAreTheRoute) {
  checkFusedRouterIsTheRoute({10, 3, MOEC_RT_SCORING_SOFTMAX, true}, 7, 70, 16, true);
}

TEST(MoERouteTokens, OneThreadIsTheRoute) {
  setThreadCount(1);
  checkFusedRouterIsTheRoute({16, 2}, 300, 100, 15, true);
  setThreadCount(availableCpus());
}

//===----------------------------------------------------------------------===//
// Permute and unpermute
//===----------------------------------------------------------------------===//

TEST(MoEPermute, PaddedSegmentsWithAnEmptyExpert) {
  // Pairs t * 2 + j; expert 3 gets none; blocks of 2.
  std::vector<int32_t> ids = {1, 0, 1, 2, 0, 1};
  std::vector<int32_t> sorted(6 + 4 * 1, -7), offsets(5, -7);
  moec_rt_moe_permute(3, 2, ids.data(), 4, 2, int64_t(sorted.size()), sorted.data(),
                      offsets.data());
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 2, 6, 8, 8}));
  EXPECT_EQ(sorted, (std::vector<int32_t>{1, 4, 0, 2, 5, 6, 3, 6, 6, 6}));
}

TEST(MoEPermute, UnpaddedKeepsTokenOrder) {
  std::vector<int32_t> ids = {2, 2, 2, 0};
  std::vector<int32_t> sorted(4), offsets(4);
  moec_rt_moe_permute(4, 1, ids.data(), 3, 1, 4, sorted.data(), offsets.data());
  EXPECT_EQ(offsets, (std::vector<int32_t>{0, 1, 1, 4}));
  EXPECT_EQ(sorted, (std::vector<int32_t>{3, 0, 1, 2}));
}

TEST(MoEUnpermute, WeightedSumOfEachTokensSlots) {
  // 2 tokens, k = 2, 3 columns; slot 2 is padding (id 4).
  std::vector<int32_t> sorted = {3, 0, 4, 1, 2};
  std::vector<float> out = {1, 2, 3, /**/ 10, 20, 30, /**/ 99, 99, 99, /**/ 4, 5, 6,
                            /**/ 7, 8, 9};
  std::vector<float> weights = {0.5f, 0.25f, 2, -1};
  std::vector<float> result(6, -1);
  moec_rt_moe_unpermute_f32(2, 2, 3, 5, out.data(), sorted.data(), weights.data(),
                            result.data());
  // Token 0: 0.5 * slot 1 + 0.25 * slot 3; token 1: 2 * slot 4 - slot 0.
  EXPECT_EQ(result, (std::vector<float>{6, 11.25f, 16.5f, 13, 14, 15}));
}

//===----------------------------------------------------------------------===//
// Grouped matmul
//===----------------------------------------------------------------------===//

struct MatmulCase {
  int64_t K, N;
  std::vector<int64_t> segmentRows; // rows of every expert's segment
  int32_t activation;
  bool gated, bias, gather;
  int64_t blockSize = 1;
  // Quantized weights: 8 or 4 bits, with a scale per groupRows rows of every column, and
  // unsigned with zero points (as many as scales) or signed without.
  int bits = 0;
  int64_t groupRows = 0;
  bool zeroPoints = false;
  // fp8 weights (e4m3) instead, with a scale per block of groupRows rows and this many
  // columns; 0: not fp8.
  int64_t fp8BlockColumns = 0;
};

/// The value of e4m3fn byte `byte`: (-1)^s 2^(e - 7) (1 + m / 8), or 2^-6 m / 8 for e = 0;
/// S.1111.111 is NaN.
float e4m3Value(uint8_t byte) {
  int e = (byte >> 3) & 15, m = byte & 7;
  double magnitude = e == 15 && m == 7 ? NAN
                     : e == 0          ? std::pow(2.0, -6) * m / 8
                                       : std::pow(2.0, e - 7) * (1 + m / 8.0);
  return float(byte & 0x80 ? -magnitude : magnitude);
}

/// Random e4m3 bytes, every one but NaN's (S.1111.111).
std::vector<uint8_t> randomE4M3(int64_t count, std::mt19937 &random) {
  std::uniform_int_distribution<int32_t> bytes(0, 255);
  std::vector<uint8_t> codes(count);
  for (uint8_t &code : codes)
    do
      code = uint8_t(bytes(random));
    while ((code & 0x7F) == 0x7F);
  return codes;
}

/// `values` ([E, K, N], each within `bits` bits) as the quantized kernel takes them: int8
/// as they are, int4 two rows per byte (the even row in the low nibble). Zero points
/// ([E, groups, N]) are packed the same way.
std::vector<int8_t> packQuantized(const std::vector<int32_t> &values, int bits, int64_t E,
                                  int64_t K, int64_t N) {
  if (bits == 8)
    return std::vector<int8_t>(values.begin(), values.end());
  int64_t pairs = (K + 1) / 2;
  std::vector<int8_t> packed(E * pairs * N, 0);
  for (int64_t e = 0; e < E; ++e)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) {
        uint8_t nibble = uint8_t(values[(e * K + k) * N + n]) & 0xF;
        packed[(e * pairs + k / 2) * N + n] |= int8_t(k % 2 ? nibble << 4 : nibble);
      }
  return packed;
}

double naiveActivation(int32_t activation, double x) {
  switch (activation) {
  case MOEC_RT_ACTIVATION_RELU:
    return std::max(x, 0.0);
  case MOEC_RT_ACTIVATION_RELU2:
    return std::max(x, 0.0) * std::max(x, 0.0);
  case MOEC_RT_ACTIVATION_GELU:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case MOEC_RT_ACTIVATION_GELU_TANH:
    return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
  case MOEC_RT_ACTIVATION_SILU:
    return x / (1 + std::exp(-x));
  default:
    return x;
  }
}

void checkGroupedMatmul(const MatmulCase &c) {
  const float alpha = 1.702f, limit = 0.7f;
  int64_t E = int64_t(c.segmentRows.size());
  std::mt19937 random(unsigned(c.K * 7 + c.N + E + c.activation * 3 + c.gated));
  std::uniform_real_distribution<float> uniform(-1, 1);
  // Tokens 0..T-1, k = 1; expert e takes the next segmentRows[e] tokens, in reverse
  // order so that the gather is not the identity; segments padded to the block.
  std::vector<int32_t> offsets = {0}, sorted;
  int64_t tokens = 0;
  for (int64_t rows : c.segmentRows)
    tokens += rows;
  int64_t next = tokens - 1;
  for (int64_t rows : c.segmentRows) {
    for (int64_t r = 0; r < rows; ++r)
      sorted.push_back(int32_t(next--));
    while (sorted.size() % c.blockSize)
      sorted.push_back(int32_t(tokens));
    offsets.push_back(int32_t(sorted.size()));
  }
  sorted.push_back(int32_t(tokens)); // a spare slot past the last segment
  int64_t slots = int64_t(sorted.size());
  int64_t inputRows = c.gather ? tokens : slots;
  std::vector<float> input(inputRows * c.K), weights(E * c.K * c.N), bias(E * c.N);
  for (auto *values : {&input, &weights, &bias})
    for (float &v : *values)
      v = uniform(random);
  int64_t outColumns = c.gated ? c.N / 2 : c.N;
  std::vector<float> result(slots * outColumns, 123.0f);

  if (c.fp8BlockColumns) {
    // Every byte but NaN's, and a scale per block; `weights` is what they stand for.
    int64_t rowBlocks = c.K / c.groupRows, columnBlocks = c.N / c.fp8BlockColumns;
    std::vector<float> scales(E * rowBlocks * columnBlocks);
    for (float &scale : scales)
      scale = 0.01f * std::abs(uniform(random));
    std::vector<uint8_t> fp8 = randomE4M3(int64_t(weights.size()), random);
    for (int64_t e = 0; e < E; ++e)
      for (int64_t k = 0; k < c.K; ++k)
        for (int64_t n = 0; n < c.N; ++n) {
          int64_t index = (e * c.K + k) * c.N + n;
          weights[index] =
              e4m3Value(fp8[index]) *
              scales[(e * rowBlocks + k / c.groupRows) * columnBlocks + n / c.fp8BlockColumns];
        }
    moec_rt_moe_grouped_matmul_fp8_f32(
        slots, c.K, c.N, E, input.data(), inputRows, c.gather ? sorted.data() : nullptr, 1,
        offsets.data(), fp8.data(), scales.data(), rowBlocks, columnBlocks,
        c.bias ? bias.data() : nullptr, c.activation, c.gated, alpha, limit,
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0, result.data());
  } else if (c.bits) {
    // Integers over their whole range (unsigned with zero points, else signed), a scale
    // and a zero point per group; `weights` is what they stand for.
    int64_t groups = c.K / c.groupRows;
    int32_t lowest = c.zeroPoints ? 0 : -(1 << (c.bits - 1));
    std::uniform_int_distribution<int32_t> integers(lowest, lowest + (1 << c.bits) - 1);
    std::vector<int32_t> quantized(weights.size()), zeroPoints(E * groups * c.N, 0);
    std::vector<float> scales(E * groups * c.N);
    // q - zp spans twice the signed range: half the scale keeps the weights (and the
    // rounding of their sums) the size they have without zero points.
    for (float &scale : scales)
      scale = (c.zeroPoints ? 0.05f : 0.1f) * std::abs(uniform(random));
    if (c.zeroPoints)
      for (int32_t &zeroPoint : zeroPoints)
        zeroPoint = integers(random);
    for (int64_t e = 0; e < E; ++e)
      for (int64_t k = 0; k < c.K; ++k)
        for (int64_t n = 0; n < c.N; ++n) {
          int64_t index = (e * c.K + k) * c.N + n;
          int64_t group = (e * groups + k / c.groupRows) * c.N + n;
          quantized[index] = integers(random);
          weights[index] = float(quantized[index] - zeroPoints[group]) * scales[group];
        }
    std::vector<int8_t> packed = packQuantized(quantized, c.bits, E, c.K, c.N);
    std::vector<int8_t> packedZeroPoints = packQuantized(zeroPoints, c.bits, E, groups, c.N);
    moec_rt_moe_grouped_matmul_quantized_f32(
        slots, c.K, c.N, E, input.data(), inputRows, c.gather ? sorted.data() : nullptr, 1,
        offsets.data(), packed.data(), c.bits, scales.data(), groups,
        c.zeroPoints ? reinterpret_cast<const uint8_t *>(packedZeroPoints.data()) : nullptr,
        c.bias ? bias.data() : nullptr, c.activation, c.gated, alpha, limit,
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0, result.data());
  } else {
    moec_rt_moe_grouped_matmul_f32(slots, c.K, c.N, E, input.data(), inputRows,
                                   c.gather ? sorted.data() : nullptr, 1, offsets.data(),
                                   weights.data(), c.bias ? bias.data() : nullptr, c.activation,
                                   c.gated, alpha, limit, /*combine_ids=*/nullptr,
                                   /*combine_weights=*/nullptr, 0, 0, result.data());
  }

  for (int64_t e = 0; e < E; ++e) {
    for (int64_t p = offsets[e]; p < offsets[e + 1]; ++p) {
      if (c.gather && sorted[p] >= tokens) {
        for (int64_t n = 0; n < outColumns; ++n)
          ASSERT_EQ(result[p * outColumns + n], 0.0f) << "padding slot " << p;
        continue;
      }
      const float *x = input.data() + (c.gather ? sorted[p] : p) * c.K;
      std::vector<double> raw(c.N);
      for (int64_t n = 0; n < c.N; ++n) {
        raw[n] = c.bias ? bias[e * c.N + n] : 0.0;
        for (int64_t k = 0; k < c.K; ++k)
          raw[n] += double(x[k]) * weights[(e * c.K + k) * c.N + n];
      }
      for (int64_t n = 0; n < outColumns; ++n) {
        double expected;
        if (c.activation == MOEC_RT_ACTIVATION_SWIGLU_CLAMPED) {
          double g = std::min<double>(raw[n], limit);
          double u = std::clamp<double>(raw[n + outColumns], -limit, limit);
          expected = (u + 1) * g / (1 + std::exp(-alpha * g));
        } else if (c.activation == MOEC_RT_ACTIVATION_SILU_CLAMPED) {
          double g = std::min<double>(raw[n], limit);
          double u = std::clamp<double>(raw[n + outColumns], -limit, limit);
          expected = u * g / (1 + std::exp(-g));
        } else {
          expected = naiveActivation(c.activation, raw[n]) * (c.gated ? raw[n + outColumns] : 1);
        }
        // Every kernel against double precision, not against each other: the kernels round
        // differently (fp8's streaming panels fold a block's scale into x, rounding x * scale
        // once, where the portable one rounds w * scale), by about an f32 ulp per product,
        // within 1e-4 for the K (at most 300) of these cases.
        ASSERT_NEAR(result[p * outColumns + n], expected, 1e-4 * (1 + std::abs(expected)))
            << "expert " << e << " slot " << p << " column " << n;
      }
    }
  }
  for (int64_t n = 0; n < outColumns; ++n)
    EXPECT_EQ(result[(slots - 1) * outColumns + n], 0.0f) << "the slot past every segment";
}

// Segments of every regime: empty, streamed (up to 16 rows, 48 when gated; over 4 in row
// groups), packed GEMM (more).
const std::vector<int64_t> kMixedSegments = {0, 1, 2, 0, 3, 4, 5, 17};

class GroupedMatmulActivations : public ::testing::TestWithParam<int32_t> {};

TEST_P(GroupedMatmulActivations, GatedWithBiasAndGather) {
  checkGroupedMatmul({19, 2 * 37, kMixedSegments, GetParam(), true, true, true});
}

/// The grouped matmul of `tokens` tokens, k = 2, over 3 experts, pairs in the permute's
/// layout, with the combine epilogue gives what it gives without, then moe.unpermute, bit
/// for bit. Over 8 tokens, expert 1's rows (every fifth token's) stream and experts 0 and 2
/// (over 16 rows each from 9 tokens on) take the packed GEMM. f32 weights, or fp8 ones
/// with blocks of 8 x 8.
void checkCombineIsTheUnpermute(int64_t tokens, bool fp8) {
  const int64_t k = 2, experts = 3, K = 24, N = 40, pairs = tokens * k, block = 8;
  std::mt19937 random(unsigned(7 + tokens));
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<int32_t> ids(pairs);
  for (int64_t t = 0; t < tokens; ++t) {
    ids[t * k] = t < 3 ? 0 : 2;
    ids[t * k + 1] = t % 5 == 0 ? 1 : t < 3 ? 2 : 0;
  }
  std::vector<int32_t> sorted(pairs), offsets(experts + 1);
  moec_rt_moe_permute(tokens, k, ids.data(), experts, 1, pairs, sorted.data(), offsets.data());
  std::vector<float> rows(pairs * K), weights(experts * K * N), routing(pairs),
      scales(experts * (K / block) * (N / block));
  for (auto *values : {&rows, &weights, &routing, &scales})
    for (float &v : *values)
      v = uniform(random);
  std::vector<uint8_t> codes = randomE4M3(experts * K * N, random);
  auto run = [&](const int32_t *combineIds, const float *combineWeights, float *result) {
    if (fp8)
      return moec_rt_moe_grouped_matmul_fp8_f32(
          pairs, K, N, experts, rows.data(), pairs, nullptr, 1, offsets.data(), codes.data(),
          scales.data(), K / block, N / block, nullptr, MOEC_RT_ACTIVATION_NONE, 0, 0, 0,
          combineIds, combineWeights, tokens, k, result);
    moec_rt_moe_grouped_matmul_f32(pairs, K, N, experts, rows.data(), pairs, nullptr, 1,
                                   offsets.data(), weights.data(), nullptr, MOEC_RT_ACTIVATION_NONE,
                                   0, 0, 0, combineIds, combineWeights, tokens, k, result);
  };
  std::vector<float> expertOut(pairs * N), unfused(tokens * N), combined(tokens * N, 123.0f);
  run(nullptr, nullptr, expertOut.data());
  moec_rt_moe_unpermute_f32(tokens, k, N, pairs, expertOut.data(), sorted.data(),
                            routing.data(), unfused.data());
  run(sorted.data(), routing.data(), combined.data());
  EXPECT_EQ(combined, unfused) << tokens << " tokens";
}

TEST(MoEGroupedMatmul, CombineIsTheUnpermuteBitForBit) { checkCombineIsTheUnpermute(40, false); }

TEST(MoEGroupedMatmul, FP8CombineIsTheUnpermuteBitForBit) {
  // No token, one, an odd number that streams every segment, and one past the GEMM's.
  for (int64_t tokens : {0, 1, 7, 41})
    checkCombineIsTheUnpermute(tokens, true);
}

TEST(MoEGroupedMatmul, UngatedSortedInput) {
  // swiglu_clamped and silu_clamped are gated only.
  for (int32_t activation : {MOEC_RT_ACTIVATION_RELU, MOEC_RT_ACTIVATION_RELU2,
                             MOEC_RT_ACTIVATION_GELU, MOEC_RT_ACTIVATION_GELU_TANH,
                             MOEC_RT_ACTIVATION_SILU})
    checkGroupedMatmul({23, 150, kMixedSegments, activation, false, false, false});
}

INSTANTIATE_TEST_SUITE_P(
    MoEGroupedMatmul, GroupedMatmulActivations,
    ::testing::Values(MOEC_RT_ACTIVATION_RELU, MOEC_RT_ACTIVATION_GELU,
                      MOEC_RT_ACTIVATION_GELU_TANH, MOEC_RT_ACTIVATION_SILU,
                      MOEC_RT_ACTIVATION_SWIGLU_CLAMPED, MOEC_RT_ACTIVATION_SILU_CLAMPED,
                      MOEC_RT_ACTIVATION_RELU2));

TEST(MoEGroupedMatmul, NoEpilogueWithBias) {
  checkGroupedMatmul({33, 45, kMixedSegments, MOEC_RT_ACTIVATION_NONE, false, true, false});
}

TEST(MoEGroupedMatmul, WideTilesAndLongSegments) {
  checkGroupedMatmul(
      {130, 2 * 300, {1, 2, 11, 40, 0}, MOEC_RT_ACTIVATION_SILU, true, false, true});
}

TEST(MoEGroupedMatmul, StreamedPanelsWiderThanAPage) {
  // More result columns than one streaming panel takes (1024), not a multiple of 16, and K
  // past one block of W rows with a remainder of the unrolled rows.
  checkGroupedMatmul(
      {70, 2 * 1100, {16, 1, 9, 0, 30}, MOEC_RT_ACTIVATION_SWIGLU_CLAMPED, true, true, true});
  // Gated segments stream up to 48 rows; more take the packed GEMM.
  checkGroupedMatmul({37, 2 * 90, {48, 49, 3}, MOEC_RT_ACTIVATION_SILU, true, true, true});
  checkGroupedMatmul({131, 1043, {1, 16, 6}, MOEC_RT_ACTIVATION_NONE, false, true, false});
}

TEST(MoEGroupedMatmul, QuantizedWeightsInEveryRegime) {
  // Groups of 8 rows and more (full passes), of 6 and 3 (int4 pairs, and an odd group that
  // the portable kernel takes); columns not a multiple of 16; every regime of segment.
  for (int bits : {8, 4})
    for (int64_t groupRows : {8, 32, 6}) {
      checkGroupedMatmul({96, 2 * 37, kMixedSegments, MOEC_RT_ACTIVATION_SILU, true, true, true,
                          1, bits, groupRows});
      checkGroupedMatmul({96, 150, {1, 16, 30}, MOEC_RT_ACTIVATION_NONE, false, false, false, 1,
                          bits, groupRows});
    }
  checkGroupedMatmul({21, 40, kMixedSegments, MOEC_RT_ACTIVATION_RELU, false, true, true, 1, 4, 3});
  checkGroupedMatmul({130, 2 * 300, {1, 2, 11, 40, 0}, MOEC_RT_ACTIVATION_SILU, true, false,
                      true, 1, 4, 130});
}

TEST(MoEGroupedMatmul, QuantizedWeightsWithZeroPointsInEveryRegime) {
  // As above, unsigned with a zero point per group: an odd number of groups (int4's last
  // byte of zero points half used), groups of 8 and more, and an odd group size.
  for (int bits : {8, 4})
    for (int64_t groupRows : {8, 32, 6}) {
      checkGroupedMatmul({96, 2 * 37, kMixedSegments, MOEC_RT_ACTIVATION_SILU, true, true, true, 1,
                          bits, groupRows, true});
      checkGroupedMatmul({96,
                          150,
                          {1, 16, 30},
                          MOEC_RT_ACTIVATION_NONE,
                          false,
                          false,
                          false,
                          1,
                          bits,
                          groupRows,
                          true});
    }
  checkGroupedMatmul(
      {21, 40, kMixedSegments, MOEC_RT_ACTIVATION_RELU, false, true, true, 1, 4, 3, true});
}

TEST(MoEGroupedMatmul, FP8WeightsInEveryRegime) {
  // Blocks of 16 x 16 (a scale per 16 columns), 32 x 48, of the whole K and 5 columns (not
  // a multiple of 16), and of 3 rows (no full pass of 8); every regime of segment.
  for (auto [blockRows, blockColumns] :
       std::vector<std::pair<int64_t, int64_t>>{{16, 16}, {32, 48}, {96, 5}, {3, 30}}) {
    checkGroupedMatmul({96, 2 * 240, kMixedSegments, MOEC_RT_ACTIVATION_SILU, true, true, true, 1,
                        0, blockRows, false, blockColumns});
    checkGroupedMatmul({96,
                        240,
                        {1, 16, 30},
                        MOEC_RT_ACTIVATION_NONE,
                        false,
                        false,
                        false,
                        1,
                        0,
                        blockRows,
                        false,
                        blockColumns});
  }
}

TEST(MoEGroupedMatmul, FP8EdgeValues) {
  // One row of x = 1 times one W row of e4m3 bytes, scale 1: the smallest subnormal, the
  // largest subnormal, the smallest normal, 1, the largest value both signs, zero, negative
  // zero; then NaN.
  std::vector<uint8_t> bytes = {0x01, 0x07, 0x08, 0x38, 0x7E, 0xFE, 0x00, 0x80, 0x7F};
  std::vector<float> expected = {0.001953125f, 0.013671875f, 0.015625f, 1.0f,
                                 448.0f,       -448.0f,      0.0f,      0.0f};
  int64_t N = int64_t(bytes.size());
  std::vector<float> input = {1.0f}, scales = {1.0f}, result(N);
  std::vector<int32_t> offsets = {0, 1};
  moec_rt_moe_grouped_matmul_fp8_f32(1, 1, N, 1, input.data(), 1, nullptr, 1, offsets.data(),
                                     bytes.data(), scales.data(), 1, 1, nullptr,
                                     MOEC_RT_ACTIVATION_NONE, 0, 0.0f, 0.0f,
                                     /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0,
                                     result.data());
  EXPECT_EQ(std::vector<float>(result.begin(), result.end() - 1), expected);
  EXPECT_TRUE(std::isnan(result.back()));
}

TEST(MoEGroupedMatmul, FP8EveryCodeExactly) {
  // Every e4m3 value but NaN (subnormals, both zeros, +-448) in each of 11 W rows (a pass
  // of 8 rows, then single rows), rotated so that each row holds them in other columns; 254
  // columns (not a multiple of 8 or 16). Token t is one-hot at row t, so its result row is
  // W's row t times the block's scale, powers of two here: exact in every kernel. 11 tokens
  // stream in row groups of 4, 4 and 3.
  const int64_t K = 11, N = 254;
  std::vector<uint8_t> values;
  for (int code = 0; code < 256; ++code)
    if ((code & 0x7F) != 0x7F)
      values.push_back(uint8_t(code));
  ASSERT_EQ(int64_t(values.size()), N);
  std::vector<uint8_t> codes(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      codes[k * N + n] = values[(n + 23 * k) % N];
  // Blocks of K rows and 127 columns: scales 2 and 1/8.
  std::vector<float> scales = {2.0f, 0.125f}, input(K * K, 0.0f), result(K * N);
  for (int64_t t = 0; t < K; ++t)
    input[t * K + t] = 1.0f;
  std::vector<int32_t> offsets = {0, int32_t(K)};
  moec_rt_moe_grouped_matmul_fp8_f32(
      K, K, N, 1, input.data(), K, nullptr, 1, offsets.data(), codes.data(), scales.data(), 1, 2,
      nullptr, MOEC_RT_ACTIVATION_NONE, 0, 0.0f, 0.0f,
      /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0, result.data());
  for (int64_t t = 0; t < K; ++t)
    for (int64_t n = 0; n < N; ++n)
      ASSERT_EQ(result[t * N + n], e4m3Value(codes[t * N + n]) * scales[n / 127])
          << "token " << t << " column " << n << " code " << int(codes[t * N + n]);
}

TEST(MoEGroupedMatmul, PaddedSegmentsGiveZeroRows) {
  checkGroupedMatmul({16, 32, {3, 0, 6, 1}, MOEC_RT_ACTIVATION_RELU, false, true, true, 4});
}

TEST(MoEGroupedMatmul, SameResultOnOneThread) {
  setThreadCount(1);
  checkGroupedMatmul({40, 2 * 70, kMixedSegments, MOEC_RT_ACTIVATION_SILU, true, true, true});
  setThreadCount(availableCpus());
}

} // namespace
