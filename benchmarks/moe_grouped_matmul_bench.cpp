//===- moe_grouped_matmul_bench.cpp - The MoE expert GEMMs at Mixtral shapes ===//
//
// Usage: moe-grouped-matmul-bench [THREADS [REPEATS [TOKENS,...]]]
//
// Times moec_rt_moe_grouped_matmul_f32 on a Mixtral-like layer (hidden 1024, ffn 2816,
// 8 experts, top-2, f32): the gathered, gated SwiGLU up projection and the down
// projection on the sorted layout, at 1, 16, 128 and 512 tokens, and the machine's memcpy
// bandwidth on the same threads. Prints the best of REPEATS per size: at one token the
// weight bytes streamed per second (against memcpy), at more the GFLOP/s. Successive
// repeats route to other experts, so one token never finds its weights in cache.
//
//===----------------------------------------------------------------------===//

#include "cpu/ThreadPool.h"

#include "moec-runtime/kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace {
constexpr int64_t kHidden = 1024, kInner = 2816, kExperts = 8, kTopK = 2;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct CopyJob {
  const char *from;
  char *to;
  int64_t chunk, bytes;
};

// Bytes copied per second by memcpy, the buffer split across the pool's threads.
double memcpyBandwidth(int repeats) {
  const int64_t bytes = int64_t(512) << 20;
  std::vector<char> from(bytes, 1), to(bytes, 0);
  int64_t chunks = 64;
  CopyJob job{from.data(), to.data(), bytes / chunks, bytes};
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    moec_rt_parallel_for(
        chunks,
        [](void *ctx, int64_t begin, int64_t end) {
          auto &copy = *static_cast<CopyJob *>(ctx);
          std::memcpy(copy.to + begin * copy.chunk, copy.from + begin * copy.chunk,
                      (end - begin) * copy.chunk);
        },
        &job);
    best = std::min(best, secondsSince(start));
  }
  return double(bytes) / best;
}
} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : moec::rt::availableCpus();
  int repeats = argc > 2 ? std::atoi(argv[2]) : 8;
  moec::rt::setThreadCount(threads);

  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-0.05f, 0.05f);
  std::vector<float> up(kExperts * kHidden * 2 * kInner), down(kExperts * kInner * kHidden);
  for (auto *weights : {&up, &down})
    for (float &value : *weights)
      value = uniform(random);

  double copy = memcpyBandwidth(repeats);
  std::printf("threads %d; memcpy %.1f GB/s\n", threads, copy / 1e9);
  std::printf("%6s %12s %12s %12s %10s\n", "tokens", "up ms", "down ms", "GFLOP/s",
              "GB/s");
  std::vector<int64_t> tokenCounts = {1, 16, 128, 512};
  if (argc > 3) {
    tokenCounts.clear();
    for (char *list = argv[3]; *list;) {
      char *next;
      tokenCounts.push_back(std::strtoll(list, &next, 10));
      list = *next ? next + 1 : next;
    }
  }
  for (int64_t tokens : tokenCounts) {
    int64_t pairs = tokens * kTopK;
    std::vector<float> x(tokens * kHidden);
    for (float &value : x)
      value = uniform(random);
    std::vector<int32_t> ids(pairs), sorted(pairs), offsets(kExperts + 1);
    std::vector<float> hidden(pairs * kInner), out(pairs * kHidden);
    double bestUp = 1e30, bestDown = 1e30;
    for (int r = 0; r < repeats + 1; ++r) {
      // One token's two experts move on every repeat; many tokens route at random.
      for (int64_t t = 0; t < tokens; ++t) {
        int32_t first = tokens == 1 ? int32_t(2 * r % kExperts) : int32_t(random() % kExperts);
        int32_t second = int32_t((first + 1 + (tokens == 1 ? 0 : random() % (kExperts - 1))) %
                                 kExperts);
        ids[t * kTopK] = first;
        ids[t * kTopK + 1] = second;
      }
      moec_rt_moe_permute(tokens, kTopK, ids.data(), kExperts, 1, pairs, sorted.data(),
                          offsets.data());
      auto start = std::chrono::steady_clock::now();
      moec_rt_moe_grouped_matmul_f32(pairs, kHidden, 2 * kInner, kExperts, x.data(), tokens,
                                     sorted.data(), kTopK, offsets.data(), up.data(), nullptr,
                                     MOEC_RT_ACTIVATION_SILU, 1, 1.702f, 7.0f,
                                     /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0,
                                     0, hidden.data());
      double upSeconds = secondsSince(start);
      start = std::chrono::steady_clock::now();
      moec_rt_moe_grouped_matmul_f32(pairs, kInner, kHidden, kExperts, hidden.data(), pairs,
                                     nullptr, 1, offsets.data(), down.data(), nullptr,
                                     MOEC_RT_ACTIVATION_NONE, 0, 0, 0, /*combine_ids=*/nullptr,
                                     /*combine_weights=*/nullptr, 0, 0, out.data());
      double downSeconds = secondsSince(start);
      if (r > 0) {
        bestUp = std::min(bestUp, upSeconds);
        bestDown = std::min(bestDown, downSeconds);
      }
    }
    int64_t usedExperts = 0;
    for (int64_t e = 0; e < kExperts; ++e)
      usedExperts += offsets[e + 1] > offsets[e];
    double seconds = bestUp + bestDown;
    double flops = 2.0 * pairs * (kHidden * 2 * kInner + kInner * kHidden);
    double weightBytes = 4.0 * usedExperts * (kHidden * 2 * kInner + kInner * kHidden);
    std::printf("%6lld %12.3f %12.3f %12.1f %10.1f", static_cast<long long>(tokens),
                bestUp * 1e3, bestDown * 1e3, flops / seconds / 1e9, weightBytes / seconds / 1e9);
    if (tokens == 1)
      std::printf("  (%.0f%% of memcpy)", 100 * weightBytes / seconds / copy);
    std::printf("\n");
  }
  return 0;
}
