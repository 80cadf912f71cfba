//===- Sgemm.cpp - f32 matrix multiply for compiled models ----------------===//
//
// The BLIS scheme: C is cut into macro tiles that threads take in parallel;
// for each KC-deep slice of K a thread packs its B slice into NR-wide column
// panels and its A block into MR-high row panels, then a register-blocked
// micro-kernel computes MR x NR tiles of C. A's block stays in L2 and one B
// panel in L1 while the micro-kernel sweeps down it. Edge tiles run kernels
// specialized for fewer rows, with masked columns, so no work is padding; a
// tile of at most MR rows reads B in place (packing it would cost more than
// the one pass over it).
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/kernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {
// The micro-tile: MR rows by NR columns; 12 x 32 holds 24 AVX-512 accumulators.
constexpr int64_t kMR = 12;
constexpr int64_t kNR = 32;
// Cache blocking: KC-deep slices; A blocks of up to kMaxMC rows (L2); B slices
// of up to kMaxNC columns (L3).
constexpr int64_t kKC = 256;
constexpr int64_t kMaxMC = 264;
constexpr int64_t kMaxNC = 2048;
constexpr size_t kAlignment = 64;
// Macro tiles this short read B unpacked.
constexpr int64_t kMaxRowsWithoutPackingB = kMR;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// One micro-tile: rows x cols (at most MR x NR) of C = Ap * Bp (+ C if
// accumulate) over kc steps. Ap holds MR floats per step (rows past `rows`
// unread); Bp holds the panel's step k at Bp + k * ldbp: a packed panel
// (ldbp = NR) or B itself (ldbp = ldb), whose columns past `cols` are unread.
struct MicroTile {
  int64_t kc;
  const float *Ap;
  const float *Bp;
  int64_t ldbp;
  float *C;
  int64_t ldc;
  int64_t rows, cols;
  bool accumulate;
};
using MicroKernel = void (*)(const MicroTile &tile);

void microKernelPortable(const MicroTile &t) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < t.kc; ++k)
    for (int64_t r = 0; r < t.rows; ++r)
      for (int64_t c = 0; c < t.cols; ++c)
        acc[r][c] += t.Ap[k * kMR + r] * t.Bp[k * t.ldbp + c];
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t c = 0; c < t.cols; ++c)
      t.C[r * t.ldc + c] = t.accumulate ? t.C[r * t.ldc + c] + acc[r][c] : acc[r][c];
}

#if defined(__x86_64__)
// Rows pairs of accumulators stay in registers. Masks cover a partial panel;
// full panels skip them, which keeps the loads plain in the hot loop.
template <int Rows, bool FullPanel>
__attribute__((target("avx512f"))) void microKernelAvx512(const MicroTile &t) {
  static_assert(kNR == 32, "two 16-float vectors per row");
  auto lowBits = [](int64_t n) -> __mmask16 {
    return n >= 16 ? 0xFFFF : n <= 0 ? 0 : __mmask16((1u << n) - 1);
  };
  __mmask16 mask[2] = {lowBits(t.cols), lowBits(t.cols - 16)};
  __m512 acc[Rows][2];
  for (int r = 0; r < Rows; ++r)
    acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const float *Ap = t.Ap, *Bp = t.Bp;
  for (int64_t k = 0; k < t.kc; ++k, Ap += kMR, Bp += t.ldbp) {
    __m512 b0 = FullPanel ? _mm512_loadu_ps(Bp) : _mm512_maskz_loadu_ps(mask[0], Bp);
    __m512 b1 = FullPanel ? _mm512_loadu_ps(Bp + 16) : _mm512_maskz_loadu_ps(mask[1], Bp + 16);
    for (int r = 0; r < Rows; ++r) {
      __m512 a = _mm512_set1_ps(Ap[r]);
      acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    for (int half = 0; half < 2; ++half) {
      float *out = t.C + r * t.ldc + 16 * half;
      if (t.accumulate)
        acc[r][half] = _mm512_add_ps(acc[r][half], _mm512_maskz_loadu_ps(mask[half], out));
      _mm512_mask_storeu_ps(out, mask[half], acc[r][half]);
    }
  }
}

template <int... Rows>
__attribute__((target("avx512f"))) void microKernelAvx512Rows(const MicroTile &t,
                                                              std::integer_sequence<int, Rows...>) {
  static constexpr MicroKernel partial[] = {microKernelAvx512<Rows + 1, false>...};
  static constexpr MicroKernel full[] = {microKernelAvx512<Rows + 1, true>...};
  (t.cols == kNR ? full : partial)[t.rows - 1](t);
}

void microKernelAvx512AnyRows(const MicroTile &t) {
  microKernelAvx512Rows(t, std::make_integer_sequence<int, kMR>());
}
#endif

MicroKernel selectMicroKernel() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f"))
    return microKernelAvx512AnyRows;
#endif
  return microKernelPortable;
}

const MicroKernel microKernel = selectMicroKernel();

struct AlignedFree {
  void operator()(float *p) const { std::free(p); }
};

// A per-thread packing buffer that grows as needed.
float *scratch(std::unique_ptr<float[], AlignedFree> &buffer, size_t &capacity, size_t floats) {
  if (floats > capacity) {
    size_t bytes = roundUp(int64_t(floats * sizeof(float)), kAlignment);
    buffer.reset(static_cast<float *>(std::aligned_alloc(kAlignment, bytes)));
    capacity = floats;
  }
  return buffer.get();
}

// Packs rows [0, mc) x depth [0, kc) of A into MR-high panels, each stored
// step by step (MR floats per k; the last panel's rows past mc are unused).
void packA(int64_t mc, int64_t kc, const float *A, int64_t lda, float *Ap) {
  for (int64_t i = 0; i < mc; i += kMR, Ap += kMR * kc) {
    int64_t rows = std::min(kMR, mc - i);
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t r = 0; r < rows; ++r)
        Ap[k * kMR + r] = A[(i + r) * lda + k];
  }
}

// Packs depth [0, kc) x columns [0, nc) of B into NR-wide panels, each stored
// step by step (NR floats per k; the last panel's columns past nc are unused).
void packB(int64_t kc, int64_t nc, const float *B, int64_t ldb, float *Bp) {
  for (int64_t j = 0; j < nc; j += kNR, Bp += kNR * kc) {
    int64_t cols = std::min(kNR, nc - j);
    for (int64_t k = 0; k < kc; ++k)
      std::memcpy(Bp + k * kNR, B + k * ldb + j, cols * sizeof(float));
  }
}

// One macro tile of C: rows [0, mc) x columns [0, nc), the whole K.
void macroTile(int64_t mc, int64_t nc, int64_t K, const float *A, int64_t lda, const float *B,
               int64_t ldb, float *C, int64_t ldc, bool accumulate) {
  thread_local std::unique_ptr<float[], AlignedFree> bufferA, bufferB;
  thread_local size_t capacityA = 0, capacityB = 0;
  float *Ap = scratch(bufferA, capacityA, roundUp(mc, kMR) * kKC);
  // Packing B pays off when many row panels reuse it; a few rows read B in place.
  bool packBPanels = mc > kMaxRowsWithoutPackingB;
  float *Bp = packBPanels ? scratch(bufferB, capacityB, roundUp(nc, kNR) * kKC) : nullptr;

  for (int64_t p = 0; p < K; p += kKC) {
    int64_t kc = std::min(kKC, K - p);
    if (packBPanels)
      packB(kc, nc, B + p * ldb, ldb, Bp);
    packA(mc, kc, A + p, lda, Ap);
    for (int64_t j = 0; j < nc; j += kNR) {
      MicroTile tile;
      tile.kc = kc;
      tile.Bp = packBPanels ? Bp + j * kc : B + p * ldb + j;
      tile.ldbp = packBPanels ? kNR : ldb;
      tile.ldc = ldc;
      tile.cols = std::min(kNR, nc - j);
      tile.accumulate = accumulate || p > 0;
      for (int64_t i = 0; i < mc; i += kMR) {
        tile.Ap = Ap + i * kc;
        tile.C = C + i * ldc + j;
        tile.rows = std::min(kMR, mc - i);
        microKernel(tile);
      }
    }
  }
}

struct SgemmJob {
  int64_t M, N, K;
  const float *A;
  int64_t lda;
  const float *B;
  int64_t ldb;
  float *C;
  int64_t ldc;
  bool accumulate;
  // The macro tile grid: rows of tileM, columns of tileN.
  int64_t tileM, tileN, tilesAlongN;
};

void runTiles(void *ctx, int64_t begin, int64_t end) {
  const auto &job = *static_cast<const SgemmJob *>(ctx);
  for (int64_t t = begin; t < end; ++t) {
    int64_t i = (t / job.tilesAlongN) * job.tileM, j = (t % job.tilesAlongN) * job.tileN;
    macroTile(std::min(job.tileM, job.M - i), std::min(job.tileN, job.N - j), job.K,
              job.A + i * job.lda, job.lda, job.B + j, job.ldb, job.C + i * job.ldc + j, job.ldc,
              job.accumulate);
  }
}
} // namespace

extern "C" void moec_rt_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate) {
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i)
        std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  // Evenly sized macro tiles, then more of them (narrower along N first, where
  // packing is not repeated) until every thread has work.
  // Waking a worker costs tens of microseconds: a small product runs on fewer threads.
  constexpr int64_t kMinMultiplyAddsPerThread = int64_t(1) << 20;
  int64_t threads = std::max<int64_t>(
      1, std::min<int64_t>(moec_rt_num_threads(), M * N * K / kMinMultiplyAddsPerThread));
  int64_t tilesM = ceilDiv(M, kMaxMC), tilesN = ceilDiv(N, kMaxNC);
  if (tilesM * tilesN < threads)
    tilesN = std::min(ceilDiv(N, kNR), ceilDiv(threads, tilesM));
  if (tilesM * tilesN < threads)
    tilesM = std::min(ceilDiv(M, kMR), ceilDiv(threads, tilesN));
  int64_t tileM = roundUp(ceilDiv(M, tilesM), kMR), tileN = roundUp(ceilDiv(N, tilesN), kNR);
  SgemmJob job{M, N, K, A, lda, B, ldb, C, ldc, accumulate != 0, tileM, tileN, ceilDiv(N, tileN)};
  int64_t tiles = ceilDiv(M, tileM) * job.tilesAlongN;
  if (threads == 1)
    runTiles(&job, 0, tiles);
  else
    moec_rt_parallel_for(tiles, runTiles, &job);
}
