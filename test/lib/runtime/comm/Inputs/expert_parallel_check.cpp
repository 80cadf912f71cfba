//===- expert_parallel_check.cpp - Sharded experts against the whole layer ===//
//
// Under mpirun: expert_parallel_check RANKS PLACEMENT TOKENS [EMPTY_RANK [STALLED_RANK]].
// Every rank makes
// the same 6 experts (hidden 8, gated SiLU of inner 4, top-2, with biases) and its own
// TOKENS tokens (none on rank EMPTY_RANK), runs them through
// moec_rt_moe_expert_parallel_f32 holding only its own experts (PLACEMENT `blocks`:
// contiguous blocks; `first`: all on rank 0, so the other ranks compute nothing), and
// through the unsharded kernels (permute, grouped matmuls, unpermute) holding all of them,
// and prints the largest difference. Exits 1 if it is not zero. Rank STALLED_RANK never
// comes to the exchange (it sleeps a minute): a rank that hangs.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/comm.h"
#include "moec-runtime/kernels.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <unistd.h>
#include <vector>

namespace {

constexpr int64_t kExperts = 6, kHidden = 8, kInner = 4, kUp = 2 * kInner, kTopK = 2;

std::vector<float> randomValues(std::mt19937 &random, int64_t count) {
  std::normal_distribution<float> normal;
  std::vector<float> values(count);
  for (float &value : values)
    value = normal(random);
  return values;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: expert_parallel_check RANKS blocks|first TOKENS "
                         "[EMPTY_RANK [STALLED_RANK]]\n");
    return 2;
  }
  int64_t ranks = std::atoll(argv[1]);
  bool blocks = std::strcmp(argv[2], "blocks") == 0;
  int64_t rank = moec_rt_comm_init(ranks);
  int64_t tokens = argc > 4 && std::atoll(argv[4]) == rank ? 0 : std::atoll(argv[3]);
  if (argc > 5 && std::atoll(argv[5]) == rank) {
    sleep(60);
    return 0;
  }

  // The same experts on every rank; tokens and routing of the rank's own.
  std::mt19937 shared(42);
  std::vector<float> up = randomValues(shared, kExperts * kHidden * kUp);
  std::vector<float> upBias = randomValues(shared, kExperts * kUp);
  std::vector<float> down = randomValues(shared, kExperts * kInner * kHidden);
  std::vector<float> downBias = randomValues(shared, kExperts * kHidden);
  std::mt19937 own(1000 + rank);
  std::vector<float> input = randomValues(own, tokens * kHidden);
  std::vector<int32_t> ids(tokens * kTopK);
  std::vector<float> weights = randomValues(own, tokens * kTopK);
  for (int64_t t = 0; t < tokens; ++t) {
    ids[t * kTopK] = int32_t(own() % kExperts);
    ids[t * kTopK + 1] = int32_t((ids[t * kTopK] + 1 + own() % (kExperts - 1)) % kExperts);
  }

  std::vector<int32_t> expertRank(kExperts), expertSlot(kExperts);
  std::vector<int64_t> held(ranks, 0);
  for (int64_t e = 0; e < kExperts; ++e) {
    expertRank[e] = blocks ? int32_t(e * ranks / kExperts) : 0;
    expertSlot[e] = int32_t(held[expertRank[e]]++);
  }
  int64_t local = held[rank];
  std::vector<float> localUp, localUpBias, localDown, localDownBias;
  for (int64_t e = 0; e < kExperts; ++e) {
    if (expertRank[e] != rank)
      continue;
    auto append = [&](std::vector<float> &to, const std::vector<float> &from, int64_t size) {
      to.insert(to.end(), from.begin() + e * size, from.begin() + (e + 1) * size);
    };
    append(localUp, up, kHidden * kUp);
    append(localUpBias, upBias, kUp);
    append(localDown, down, kInner * kHidden);
    append(localDownBias, downBias, kHidden);
  }
  std::vector<float> sharded(tokens * kHidden);
  moec_rt_moe_expert_parallel_f32(
      tokens, kHidden, kTopK, input.data(), ids.data(), weights.data(), kExperts, expertRank.data(),
      expertSlot.data(), local, kUp, kInner, localUp.data(), MOEC_RT_WEIGHTS_F32,
      /*up_scales=*/nullptr, 0, 0, /*up_zero_points=*/nullptr, localUpBias.data(), localDown.data(),
      MOEC_RT_WEIGHTS_F32, /*down_scales=*/nullptr, 0, 0,
      /*down_zero_points=*/nullptr, localDownBias.data(), MOEC_RT_ACTIVATION_SILU, 1, 1.702f, 7.0f,
      sharded.data());

  int64_t pairs = tokens * kTopK;
  std::vector<int32_t> sortedIds(pairs), offsets(kExperts + 1);
  moec_rt_moe_permute(tokens, kTopK, ids.data(), kExperts, 1, pairs, sortedIds.data(),
                      offsets.data());
  std::vector<float> hidden(pairs * kInner), expertOut(pairs * kHidden), whole(tokens * kHidden);
  moec_rt_moe_grouped_matmul_f32(pairs, kHidden, kUp, kExperts, input.data(), tokens,
                                 sortedIds.data(), kTopK, offsets.data(), up.data(),
                                 upBias.data(), MOEC_RT_ACTIVATION_SILU, 1, 1.702f, 7.0f,
                                 /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0,
                                 hidden.data());
  moec_rt_moe_grouped_matmul_f32(pairs, kInner, kHidden, kExperts, hidden.data(), pairs,
                                 nullptr, 1, offsets.data(), down.data(), downBias.data(),
                                 MOEC_RT_ACTIVATION_NONE, 0, 1.702f, 7.0f,
                                 /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0,
                                 expertOut.data());
  moec_rt_moe_unpermute_f32(tokens, kTopK, kHidden, pairs, expertOut.data(), sortedIds.data(),
                            weights.data(), whole.data());

  double difference = 0;
  for (int64_t i = 0; i < tokens * kHidden; ++i)
    difference = std::fmax(difference, std::fabs(double(sharded[i]) - double(whole[i])));
  std::printf("rank %lld: %lld tokens, %lld experts held, max |sharded - whole| = %g\n",
              (long long)rank, (long long)tokens, (long long)local, difference);
  return difference == 0 ? 0 : 1;
}
