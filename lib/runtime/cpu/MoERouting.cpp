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
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {
// Below this many elements of work a kernel runs on the calling thread alone.
constexpr int64_t kMinParallelWork = int64_t(1) << 16;

template <typename Body> void forEachItem(int64_t items, int64_t workPerItem, Body body) {
  auto run = [](void *ctx, int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item)
      (*static_cast<Body *>(ctx))(item);
  };
  if (items * workPerItem < kMinParallelWork)
    run(&body, 0, items);
  else
    moec_rt_parallel_for(items, run, &body);
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

// Tokens whose logits one task computes together: each router row is read from memory
// once per group, not once per token.
constexpr int kTokensPerGroup = 8;
// The logits computed at once, in registers: a tile of up to kTileTokens tokens by one or
// kTileExperts experts, so that every load of a token's or an expert's 16 floats feeds
// several FMAs.
constexpr int kTileTokens = 4;
constexpr int kTileExperts = 4;

// sums[r * Cols + c] = sum(x[r * n + i] * w[c * n + i]) over i < n, for the Rows rows of x
// and the Cols rows of w, each in 8 lanes (lane l sums the i = l mod 8) added up at the end.
template <int Rows, int Cols>
void dotsPortable(const float *x, int64_t n, const float *w, float *sums) {
  constexpr int64_t lanes = 8;
  float partial[Rows][Cols][lanes] = {};
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes)
    for (int r = 0; r < Rows; ++r)
      for (int c = 0; c < Cols; ++c)
        for (int64_t l = 0; l < lanes; ++l)
          partial[r][c][l] += x[r * n + i + l] * w[c * n + i + l];
  for (; i < n; ++i)
    for (int r = 0; r < Rows; ++r)
      for (int c = 0; c < Cols; ++c)
        partial[r][c][i % lanes] += x[r * n + i] * w[c * n + i];
  for (int r = 0; r < Rows; ++r)
    for (int c = 0; c < Cols; ++c) {
      sums[r * Cols + c] = 0;
      for (float laneSum : partial[r][c])
        sums[r * Cols + c] += laneSum;
    }
}

#if defined(__x86_64__)
// dotsPortable's sums, each in a 16-lane FMA accumulator (the tile's chains hide the FMA's
// latency), the tail masked.
template <int Rows, int Cols>
__attribute__((target("avx512f"))) void dotsAvx512(const float *x, int64_t n, const float *w,
                                                   float *sums) {
  __m512 acc[Rows][Cols];
  for (int r = 0; r < Rows; ++r)
    for (int c = 0; c < Cols; ++c)
      acc[r][c] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 mask = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    __m512 wv[Cols];
    for (int c = 0; c < Cols; ++c)
      wv[c] = _mm512_maskz_loadu_ps(mask, w + c * n + i);
    for (int r = 0; r < Rows; ++r) {
      __m512 xv = _mm512_maskz_loadu_ps(mask, x + r * n + i);
      for (int c = 0; c < Cols; ++c)
        acc[r][c] = _mm512_fmadd_ps(xv, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int c = 0; c < Cols; ++c)
      sums[r * Cols + c] = _mm512_reduce_add_ps(acc[r][c]);
}
#endif

// A tile's dot products, by its tokens (1 to kTileTokens) and whether it has kTileExperts
// experts or one.
using DotsFn = void (*)(const float *x, int64_t n, const float *w, float *sums);
using DotsByTokens = std::array<DotsFn, kTileTokens + 1>;
struct TileKernels {
  DotsByTokens oneExpert, manyExperts;
};

template <template <int, int> class Kernel, int... Rows>
TileKernels tileKernels(std::integer_sequence<int, Rows...>) {
  return {{nullptr, Kernel<Rows + 1, 1>::run...},
          {nullptr, Kernel<Rows + 1, kTileExperts>::run...}};
}
template <int Rows, int Cols> struct Portable {
  static void run(const float *x, int64_t n, const float *w, float *sums) {
    dotsPortable<Rows, Cols>(x, n, w, sums);
  }
};
#if defined(__x86_64__)
template <int Rows, int Cols> struct Avx512 {
  static void run(const float *x, int64_t n, const float *w, float *sums) {
    dotsAvx512<Rows, Cols>(x, n, w, sums);
  }
};
#endif

// The AVX-512 tiles where the CPU has them, unless MOEC_CPU_KERNELS=portable (as the
// grouped matmul chooses its kernels).
TileKernels selectTileKernels() {
  auto rows = std::make_integer_sequence<int, kTileTokens>();
  const char *choice = std::getenv("MOEC_CPU_KERNELS");
  if (choice && std::strcmp(choice, "portable") == 0)
    return tileKernels<Portable>(rows);
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f"))
    return tileKernels<Avx512>(rows);
#endif
  return tileKernels<Portable>(rows);
}

const TileKernels tiles = selectTileKernels();
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
  forEachItem(tokens, experts, [&](int64_t t) {
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
  int64_t groups = (tokens + kTokensPerGroup - 1) / kTokensPerGroup;
  forEachItem(groups, kTokensPerGroup * experts * hidden, [&](int64_t group) {
    int64_t first = group * kTokensPerGroup;
    int rows = int(std::min<int64_t>(kTokensPerGroup, tokens - first));
    // The group's logits live only while its tokens are routed, in this thread's cache.
    std::vector<float> logits(rows * experts);
    float sums[kTileTokens * kTileExperts];
    // A block of experts' router rows stays in cache while the group's tiles read it.
    for (int64_t e = 0; e < experts;) {
      int cols = experts - e >= kTileExperts ? kTileExperts : 1;
      const DotsByTokens &kernels = cols > 1 ? tiles.manyExperts : tiles.oneExpert;
      for (int r0 = 0; r0 < rows; r0 += kTileTokens) {
        int tileRows = std::min(kTileTokens, rows - r0);
        kernels[tileRows](input + (first + r0) * hidden, hidden, router_weight + e * hidden, sums);
        for (int r = 0; r < tileRows; ++r)
          for (int c = 0; c < cols; ++c)
            logits[(r0 + r) * experts + e + c] =
                sums[r * cols + c] + (router_bias ? router_bias[e + c] : 0.0f);
      }
      e += cols;
    }
    for (int r = 0; r < rows; ++r)
      routeToken(*routing, logits.data() + r * experts, weights + (first + r) * k,
                 expert_ids + (first + r) * k);
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
  forEachItem(tokens, k * columns, [&](int64_t t) {
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
