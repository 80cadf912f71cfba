//===- moe_grouped_matmul_bench.cpp - The MoE expert GEMMs at Mixtral shapes ===//
//
// Usage: moe-grouped-matmul-bench [THREADS [REPEATS [TOKENS,... [f32|fp8|int8|int4]]]]
//
// Times moec_rt_moe_grouped_matmul_f32 on a Mixtral-like layer (hidden 1024, ffn 2816,
// 8 experts, top-2, f32; or moec_rt_moe_grouped_matmul_fp8_f32 on its weights as e4m3
// bytes with 128 x 128 block scales, as `moec --quantize=fp8` makes them; or
// moec_rt_moe_grouped_matmul_quantized_f32 on signed int8 or int4 with a scale per 128 rows
// of a column, as `moec --quantize=int8|int4` makes them): the gathered, gated
// SwiGLU up projection and the down projection on the sorted layout, at 1, 16, 128 and 512 tokens,
// and the machine's memcpy bandwidth on the same threads. Prints the best of REPEATS per size: at
// one token the weight bytes streamed per second (against memcpy), at more the GFLOP/s. Successive
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
// Rows and columns of an fp8 block; rows of an int8 or int4 group.
constexpr int64_t kFP8Block = 128, kQuantizedGroup = 128;

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

// An expert weight `[kExperts, K, N]` of `values`, or of `bits`-bit codes (8: e4m3 bytes
// when `isFP8`, NaN's left out, with a scale per block; else signed integers, int4 two rows
// per byte, with a scale per group of rows of a column); grouped matmul runs it on one
// call's operands.
struct ExpertWeights {
  std::vector<float> values, scales;
  std::vector<uint8_t> codes;
  int64_t K, N;
  int bits;
  bool isFP8;

  ExpertWeights(int64_t K, int64_t N, int bits, bool isFP8, std::mt19937 &random)
      : K(K), N(N), bits(bits), isFP8(isFP8) {
    std::uniform_real_distribution<float> uniform(-0.05f, 0.05f);
    if (bits == 32) {
      values.resize(kExperts * K * N);
      for (float &value : values)
        value = uniform(random);
      return;
    }
    codes.resize(kExperts * K * N * bits / 8);
    for (uint8_t &byte : codes)
      do
        byte = uint8_t(random());
      while (isFP8 && (byte & 0x7F) == 0x7F);
    float largestCode = isFP8 ? 448 : float((1 << (bits - 1)) - 1);
    scales.resize(isFP8 ? kExperts * (K / kFP8Block) * (N / kFP8Block)
                        : kExperts * (K / kQuantizedGroup) * N);
    for (float &scale : scales)
      scale = 0.05f / largestCode * (1 + uniform(random));
  }

  void run(int64_t rows, const float *input, int64_t inputRows, const int32_t *sortedIds,
           int64_t rowsPerToken, const int32_t *offsets, int32_t activation, int32_t gated,
           float *result) const {
    if (bits == 32)
      return moec_rt_moe_grouped_matmul_f32(
          rows, K, N, kExperts, input, inputRows, sortedIds, rowsPerToken, offsets, values.data(),
          nullptr, activation, gated, 1.702f, 7.0f, /*combine_ids=*/nullptr,
          /*combine_weights=*/nullptr, 0, 0, result);
    if (isFP8)
      return moec_rt_moe_grouped_matmul_fp8_f32(
          rows, K, N, kExperts, input, inputRows, sortedIds, rowsPerToken, offsets, codes.data(),
          scales.data(), K / kFP8Block, N / kFP8Block, nullptr, activation, gated, 1.702f, 7.0f,
          /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0, result);
    moec_rt_moe_grouped_matmul_quantized_f32(
        rows, K, N, kExperts, input, inputRows, sortedIds, rowsPerToken, offsets,
        reinterpret_cast<const int8_t *>(codes.data()), bits, scales.data(), K / kQuantizedGroup,
        /*zero_points=*/nullptr, nullptr, activation, gated, 1.702f, 7.0f,
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, 0, 0, result);
  }
  double bytesPerExpert() const { return double(K * N) * bits / 8; }
};
} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : moec::rt::availableCpus();
  int repeats = argc > 2 ? std::atoi(argv[2]) : 8;
  moec::rt::setThreadCount(threads);

  const char *kind = argc > 4 ? argv[4] : "f32";
  bool isFP8 = std::strcmp(kind, "fp8") == 0;
  int bits = std::strcmp(kind, "int4") == 0 ? 4 : isFP8 || std::strcmp(kind, "int8") == 0 ? 8 : 32;
  if (bits == 32)
    kind = "f32";
  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-0.05f, 0.05f);
  ExpertWeights up(kHidden, 2 * kInner, bits, isFP8, random),
      down(kInner, kHidden, bits, isFP8, random);

  double copy = memcpyBandwidth(repeats);
  std::printf("threads %d; %s weights; memcpy %.1f GB/s\n", threads, kind, copy / 1e9);
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
      up.run(pairs, x.data(), tokens, sorted.data(), kTopK, offsets.data(), MOEC_RT_ACTIVATION_SILU,
             1, hidden.data());
      double upSeconds = secondsSince(start);
      start = std::chrono::steady_clock::now();
      down.run(pairs, hidden.data(), pairs, nullptr, 1, offsets.data(), MOEC_RT_ACTIVATION_NONE, 0,
               out.data());
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
    double weightBytes = usedExperts * (up.bytesPerExpert() + down.bytesPerExpert());
    std::printf("%6lld %12.3f %12.3f %12.1f %10.1f", static_cast<long long>(tokens),
                bestUp * 1e3, bestDown * 1e3, flops / seconds / 1e9, weightBytes / seconds / 1e9);
    if (tokens == 1)
      std::printf("  (%.0f%% of memcpy)", 100 * weightBytes / seconds / copy);
    std::printf("\n");
  }
  return 0;
}
