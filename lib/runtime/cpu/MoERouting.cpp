//===- MoERouting.cpp - Routing, permutation and combine of MoE layers ----===//
//
// The cheap kernels around the expert GEMMs: their cost is linear in tokens x
// experts (routing) or tokens x k x hidden (combine), so they are plain loops,
// split across the pool only when there is enough work to pay for waking it.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/kernels.h"

#include "cpu/RoutingProfile.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <optional>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {
// Below this many elements of work a kernel runs on the calling thread alone.
constexpr int64_t kMinParallelWork = int64_t(1) << 16;

template <typename Body> void forEachToken(int64_t tokens, int64_t workPerToken, Body body) {
  auto run = [](void *ctx, int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      (*static_cast<Body *>(ctx))(t);
  };
  if (tokens * workPerToken < kMinParallelWork)
    run(&body, 0, tokens);
  else
    moec_rt_parallel_for(tokens, run, &body);
}

struct Routing {
  int64_t experts, k;
  const float *scoreBias;
  int32_t scoring;
  bool renormalize;
  float renormalizeEpsilon;
  bool topkFirst;
  int64_t nGroup, topkGroup;
  bool zeroMaskedGroups;
  float scale;
  float jitterEps;
};

// Orders experts best first by `key`, ties toward the lower id.
struct BestFirst {
  const float *key;
  bool operator()(int32_t a, int32_t b) const {
    return key[a] > key[b] || (key[a] == key[b] && a < b);
  }
};

// SparseMixer's weight of `chosen`: the softmax at its logit m over the experts it does
// not mask, the `earlier` chosen experts left out. m masks the logits l more than
// 2 * jitterEps * max(|l|, m) below it.
float sparseMixerWeight(const float *logits, int64_t experts, float jitterEps, int32_t chosen,
                        const int32_t *earlier, int64_t numEarlier) {
  float threshold = logits[chosen];
  float sum = 0;
  for (int64_t e = 0; e < experts; ++e) {
    if (std::find(earlier, earlier + numEarlier, e) != earlier + numEarlier)
      continue;
    float factor = std::max(std::fabs(logits[e]), threshold);
    if (threshold - logits[e] > 2 * jitterEps * factor)
      continue;
    sum += std::exp(logits[e] - threshold);
  }
  // `chosen` never masks itself, so the sum is at least one.
  return 1.0f / sum;
}

// sqrt(softplus(x)), DeepSeek-V4's score. softplus(x) = log(1 + exp(x)) is x itself in
// f32 above 20 (the rest, log1p(exp(-x)) < 2e-9, is below half an ulp of x), as torch's
// Softplus threshold has it; exp would overflow far above.
float sqrtSoftplus(float x) { return std::sqrt(x > 20.0f ? x : std::log1p(std::exp(x))); }

// Routes one token: scores, the choice (biased scores, group-limited), weights.
void routeToken(const Routing &r, const float *logits, float *weights, int32_t *ids) {
  int64_t E = r.experts;
  bool sigmoid = r.scoring == MOEC_RT_SCORING_SIGMOID;
  bool sparseMixer = r.scoring == MOEC_RT_SCORING_SPARSE_MIXER;
  // topk_first (a softmax over the chosen k logits, or the sigmoid of each) and
  // SparseMixer choose on the logits themselves.
  bool softmaxOfChosen = r.topkFirst && r.scoring == MOEC_RT_SCORING_SOFTMAX;
  std::vector<float> scores(E), choice(E);
  if (r.topkFirst || sparseMixer) {
    std::copy(logits, logits + E, scores.begin());
  } else if (sigmoid) {
    for (int64_t e = 0; e < E; ++e)
      scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  } else if (r.scoring == MOEC_RT_SCORING_SQRT_SOFTPLUS) {
    for (int64_t e = 0; e < E; ++e)
      scores[e] = sqrtSoftplus(logits[e]);
  } else {
    float max = *std::max_element(logits, logits + E);
    float sum = 0;
    for (int64_t e = 0; e < E; ++e)
      sum += scores[e] = std::exp(logits[e] - max);
    for (float &score : scores)
      score /= sum;
  }
  for (int64_t e = 0; e < E; ++e)
    choice[e] = scores[e] + (r.scoreBias ? r.scoreBias[e] : 0.0f);

  std::vector<int32_t> candidates;
  if (r.nGroup > 1 && r.topkGroup < r.nGroup) {
    // A group's rank is the sum of its two best choice scores.
    int64_t groupSize = E / r.nGroup;
    std::vector<float> groupScore(r.nGroup);
    for (int64_t g = 0; g < r.nGroup; ++g) {
      std::vector<float> members(choice.begin() + g * groupSize,
                                 choice.begin() + (g + 1) * groupSize);
      int64_t best = std::min<int64_t>(2, groupSize);
      std::partial_sort(members.begin(), members.begin() + best, members.end(),
                        std::greater<float>());
      groupScore[g] = std::accumulate(members.begin(), members.begin() + best, 0.0f);
    }
    std::vector<int32_t> groups(r.nGroup);
    std::iota(groups.begin(), groups.end(), 0);
    std::partial_sort(groups.begin(), groups.begin() + r.topkGroup, groups.end(),
                      BestFirst{groupScore.data()});
    std::vector<bool> kept(E, false);
    for (int64_t i = 0; i < r.topkGroup; ++i)
      std::fill_n(kept.begin() + groups[i] * groupSize, groupSize, true);
    // Masked to 0 rather than left out, the other groups' experts still compete.
    for (int64_t e = 0; e < E; ++e) {
      if (kept[e] || r.zeroMaskedGroups)
        candidates.push_back(int32_t(e));
      if (!kept[e] && r.zeroMaskedGroups)
        choice[e] = 0.0f;
    }
  } else {
    candidates.resize(E);
    std::iota(candidates.begin(), candidates.end(), 0);
  }
  std::partial_sort(candidates.begin(), candidates.begin() + r.k, candidates.end(),
                    BestFirst{choice.data()});

  float sum = 0;
  for (int64_t j = 0; j < r.k; ++j) {
    ids[j] = candidates[j];
    weights[j] = scores[ids[j]];
  }
  if (softmaxOfChosen) {
    float max = weights[0];
    for (int64_t j = 1; j < r.k; ++j)
      max = std::max(max, weights[j]);
    for (int64_t j = 0; j < r.k; ++j)
      weights[j] = std::exp(weights[j] - max);
  }
  if (r.topkFirst && sigmoid)
    for (int64_t j = 0; j < r.k; ++j)
      weights[j] = 1.0f / (1.0f + std::exp(-weights[j]));
  if (sparseMixer)
    for (int64_t j = 0; j < r.k; ++j)
      weights[j] = sparseMixerWeight(logits, E, r.jitterEps, ids[j], ids, j);
  for (int64_t j = 0; j < r.k; ++j)
    sum += weights[j];
  bool divide = r.renormalize || softmaxOfChosen;
  if (r.renormalize)
    sum += r.renormalizeEpsilon;
  for (int64_t j = 0; j < r.k; ++j)
    weights[j] = (divide ? weights[j] / sum : weights[j]) * r.scale;
}

// The routing that a kernel's arguments describe; none for arguments that describe no
// routing (the kernels then write nothing).
std::optional<Routing> makeRouting(int64_t experts, const float *scoreBias, int64_t k,
                                   int32_t scoring, int32_t renormalize, float renormalizeEpsilon,
                                   int32_t topkFirst, int64_t nGroup, int64_t topkGroup,
                                   int32_t zeroMaskedGroups, float routedScalingFactor,
                                   float jitterEps) {
  if (experts <= 0 || k <= 0 || k > experts || nGroup <= 0 || experts % nGroup != 0)
    return std::nullopt;
  return Routing{experts,
                 k,
                 scoreBias,
                 scoring,
                 renormalize != 0,
                 renormalizeEpsilon,
                 topkFirst != 0,
                 nGroup,
                 std::clamp<int64_t>(topkGroup, 1, nGroup),
                 zeroMaskedGroups != 0,
                 routedScalingFactor,
                 jitterEps};
}

// sum(a[i] * b[i]) over i < n, in 8 lanes (lane l sums the i = l mod 8) added up at the end.
float dotPortable(const float *a, const float *b, int64_t n) {
  constexpr int64_t lanes = 8;
  float sums[lanes] = {};
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int64_t l = 0; l < lanes; ++l)
      sums[l] += a[i + l] * b[i + l];
  for (; i < n; ++i)
    sums[i % lanes] += a[i] * b[i];
  float sum = 0;
  for (float laneSum : sums)
    sum += laneSum;
  return sum;
}

#if defined(__x86_64__)
// sum(a[i] * b[i]) over i < n, in two 16-lane FMA accumulators (two chains hide the FMA's
// latency), the tail masked.
__attribute__((target("avx512f"))) float dotAvx512(const float *a, const float *b, int64_t n) {
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    even = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), even);
    odd = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), odd);
  }
  for (; i < n; i += 16) {
    __mmask16 mask = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    even = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i),
                           even);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(even, odd));
}
#endif

using DotFn = float (*)(const float *, const float *, int64_t);

// The AVX-512 dot product where the CPU has it, unless MOEC_CPU_KERNELS=portable (as the
// grouped matmul chooses its kernels).
DotFn selectDot() {
  const char *choice = std::getenv("MOEC_CPU_KERNELS");
  if (choice && std::strcmp(choice, "portable") == 0)
    return dotPortable;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f"))
    return dotAvx512;
#endif
  return dotPortable;
}

const DotFn dot = selectDot();
} // namespace

extern "C" void moec_rt_moe_route_f32(int64_t tokens, int64_t experts, const float *logits,
                                      const float *score_bias, int64_t k, int32_t scoring,
                                      int32_t renormalize, float renormalize_epsilon,
                                      int32_t topk_first, int64_t n_group, int64_t topk_group,
                                      int32_t zero_masked_groups, float routed_scaling_factor,
                                      float jitter_eps,
                                      float *weights, int32_t *expert_ids) {
  std::optional<Routing> routing =
      makeRouting(experts, score_bias, k, scoring, renormalize, renormalize_epsilon, topk_first,
                  n_group, topk_group, zero_masked_groups, routed_scaling_factor, jitter_eps);
  if (!routing)
    return;
  forEachToken(tokens, experts, [&](int64_t t) {
    routeToken(*routing, logits + t * experts, weights + t * k, expert_ids + t * k);
  });
  moec::rt::recordRouting(tokens, experts, k, expert_ids);
}

extern "C" void moec_rt_moe_route_tokens_f32(
    int64_t tokens, int64_t hidden, int64_t experts, const float *input, const float *router_weight,
    const float *router_bias, const float *score_bias, int64_t k, int32_t scoring,
    int32_t renormalize, float renormalize_epsilon, int32_t topk_first, int64_t n_group,
    int64_t topk_group, int32_t zero_masked_groups, float routed_scaling_factor, float jitter_eps,
    float *weights, int32_t *expert_ids) {
  std::optional<Routing> routing =
      makeRouting(experts, score_bias, k, scoring, renormalize, renormalize_epsilon, topk_first,
                  n_group, topk_group, zero_masked_groups, routed_scaling_factor, jitter_eps);
  if (!routing)
    return;
  forEachToken(tokens, experts * hidden, [&](int64_t t) {
    // The token's logits live only while it is routed, in this thread's cache.
    std::vector<float> logits(experts);
    const float *row = input + t * hidden;
    for (int64_t e = 0; e < experts; ++e)
      logits[e] =
          dot(row, router_weight + e * hidden, hidden) + (router_bias ? router_bias[e] : 0.0f);
    routeToken(*routing, logits.data(), weights + t * k, expert_ids + t * k);
  });
  moec::rt::recordRouting(tokens, experts, k, expert_ids);
}

extern "C" void moec_rt_moe_permute(int64_t tokens, int64_t k, const int32_t *expert_ids,
                                    int64_t experts, int64_t block_size, int64_t slots,
                                    int32_t *sorted_ids, int32_t *expert_offsets) {
  int64_t pairs = tokens * k;
  std::vector<int64_t> next(experts + 1, 0);
  for (int64_t p = 0; p < pairs; ++p)
    if (expert_ids[p] >= 0 && expert_ids[p] < experts)
      ++next[expert_ids[p] + 1];
  // Counts to segment starts, each segment padded up to the block size.
  for (int64_t e = 0; e < experts; ++e)
    next[e + 1] = next[e] + (next[e + 1] + block_size - 1) / block_size * block_size;
  for (int64_t e = 0; e <= experts; ++e)
    expert_offsets[e] = int32_t(next[e]);
  std::fill(sorted_ids, sorted_ids + slots, int32_t(pairs));
  for (int64_t p = 0; p < pairs; ++p)
    if (expert_ids[p] >= 0 && expert_ids[p] < experts)
      sorted_ids[next[expert_ids[p]]++] = int32_t(p);
}

extern "C" void moec_rt_moe_unpermute_f32(int64_t tokens, int64_t k, int64_t columns,
                                          int64_t slots, const float *expert_out,
                                          const int32_t *sorted_ids, const float *weights,
                                          float *result) {
  int64_t pairs = tokens * k;
  std::vector<int64_t> slotOfPair(pairs, -1);
  for (int64_t s = 0; s < slots; ++s)
    if (sorted_ids[s] >= 0 && sorted_ids[s] < pairs)
      slotOfPair[sorted_ids[s]] = s;
  forEachToken(tokens, k * columns, [&](int64_t t) {
    float *out = result + t * columns;
    std::fill(out, out + columns, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      int64_t slot = slotOfPair[t * k + j];
      if (slot < 0)
        continue;
      float weight = weights[t * k + j];
      const float *row = expert_out + slot * columns;
      for (int64_t c = 0; c < columns; ++c)
        out[c] += weight * row[c];
    }
  });
}
