//===- sgemm_bench.cpp - Throughput of the runtime's moec_rt_sgemm --------===//
//
// Usage: sgemm-bench [THREADS [M N K [REPEATS]]]; prints GFLOP/s (best of
// REPEATS) after checking a sample of C against a double-precision dot product.
//
//===----------------------------------------------------------------------===//

#include "cpu/ThreadPool.h"

#include "moec-runtime/kernels.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

int main(int argc, char **argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  int64_t M = argc > 4 ? std::atoll(argv[2]) : 256;
  int64_t N = argc > 4 ? std::atoll(argv[3]) : 2816;
  int64_t K = argc > 4 ? std::atoll(argv[4]) : 1024;
  int repeats = argc > 5 ? std::atoi(argv[5]) : 20;
  moec::rt::setThreadCount(threads);

  std::mt19937 random(42);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> A(M * K), B(K * N), C(M * N);
  for (float &value : A)
    value = uniform(random);
  for (float &value : B)
    value = uniform(random);

  double best = 1e30;
  for (int r = 0; r < repeats + 1; ++r) {
    auto start = std::chrono::steady_clock::now();
    moec_rt_sgemm(M, N, K, A.data(), K, B.data(), N, C.data(), N, 0);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0 && seconds < best)
      best = seconds;
  }

  double worstError = 0;
  for (int64_t sample = 0; sample < 64; ++sample) {
    int64_t i = random() % M, j = random() % N;
    double expected = 0;
    for (int64_t k = 0; k < K; ++k)
      expected += double(A[i * K + k]) * B[k * N + j];
    worstError = std::max(worstError, std::fabs(expected - C[i * N + j]));
  }
  std::printf("sgemm %lldx%lldx%lld threads=%d: %.1f GFLOP/s (%.3f ms), max |error| %.2g\n",
              (long long)M, (long long)N, (long long)K, threads, 2.0 * M * N * K / best / 1e9,
              best * 1e3, worstError);
  return worstError < 1e-3 * K ? 0 : 1;
}
