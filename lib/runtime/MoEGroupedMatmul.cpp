//===- MoEGroupedMatmul.cpp - Expert GEMMs over the sorted-token layout ---===//
//
// Two regimes, chosen per expert by the rows of its segment:
// - a few rows (decoding, small batches): the product is bound by reading the
//   expert's weights once. All such experts' column tiles go to the pool
//   together; each tile streams its W columns row by row with AVX-512 FMAs into
//   register accumulators for up to 4 rows of the segment at a time; more rows
//   reuse each L1-sized block of W rows before the next is read. Bias and
//   activation are applied on the tile. Gated tiles take the gate columns and
//   the matching up columns together, so the gated product never exists.
// - many rows: the segment's rows are gathered into a packed buffer and the
//   runtime's cache-blocked GEMM (Sgemm.cpp) runs on it, starting from the
//   bias, followed by a vectorized activation pass over the output.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {
// Segments of at most this many rows take the streaming (GEMV-like) kernel.
constexpr int64_t kMaxStreamingRows = 16;
// Rows whose accumulators one streaming pass keeps in registers.
constexpr int64_t kRegisterRows = 4;
// Rows of W (of one tile) that stay in L1 while every group of rows reads them.
constexpr int64_t kStreamBlockK = 64;
// Columns of one streaming tile: 8 AVX-512 vectors for up to 2 rows, else 4,
// which keeps at most 16 accumulators in registers.
constexpr int64_t kMaxTileColumns = 128;
// Rows of W ahead of the one being read that a streaming tile prefetches.
constexpr int64_t kPrefetchRows = 8;

struct Epilogue {
  int32_t activation;
  bool gated;
  float alpha, limit;
};

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

float activate(const Epilogue &epilogue, float x) {
  switch (epilogue.activation) {
  case MOEC_RT_ACTIVATION_RELU:
    return std::max(x, 0.0f);
  case MOEC_RT_ACTIVATION_GELU:
    return 0.5f * x * (1.0f + std::erf(x * float(M_SQRT1_2)));
  case MOEC_RT_ACTIVATION_GELU_TANH: {
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u).
    float u = 0.7978845608f * (x + 0.044715f * x * x * x);
    return x * sigmoid(2.0f * u);
  }
  case MOEC_RT_ACTIVATION_SILU:
    return x * sigmoid(x);
  default:
    return x;
  }
}

// out[j] = act(gate[j]) (* up[j] when gated); out may alias gate.
void epilogueScalar(const Epilogue &epilogue, const float *gate, const float *up, int64_t n,
                    float *out) {
  for (int64_t j = 0; j < n; ++j) {
    if (epilogue.activation == MOEC_RT_ACTIVATION_SWIGLU_CLAMPED) {
      float g = std::min(gate[j], epilogue.limit);
      float u = std::clamp(up[j], -epilogue.limit, epilogue.limit);
      out[j] = (u + 1.0f) * g * sigmoid(epilogue.alpha * g);
    } else {
      float a = activate(epilogue, gate[j]);
      out[j] = up ? a * up[j] : a;
    }
  }
}

#if defined(__x86_64__)
#define MOEC_AVX512 __attribute__((target("avx512f")))

__mmask16 lowBits(int64_t n) { return n >= 16 ? 0xFFFF : n <= 0 ? 0 : __mmask16((1u << n) - 1); }

// exp(x) as 2^n exp(r), |r| <= ln2 / 2, with Cephes' expf polynomial (about 1 ulp).
MOEC_AVX512 __m512 expAvx512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-88.0f)), _mm512_set1_ps(88.0f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500E-4f);
  for (float c : {1.3981999507E-3f, 8.3334519073E-3f, 4.1665795894E-2f, 1.6666665459E-1f,
                  5.0000001201E-1f})
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

MOEC_AVX512 __m512 sigmoidAvx512(__m512 x) {
  __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, expAvx512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

// The vectorized epilogue; erf-GELU, which has no cheap vector form here, stays scalar.
MOEC_AVX512 void epilogueAvx512(const Epilogue &epilogue, const float *gate, const float *up,
                                int64_t n, float *out) {
  if (epilogue.activation == MOEC_RT_ACTIVATION_GELU)
    return epilogueScalar(epilogue, gate, up, n, out);
  __m512 limit = _mm512_set1_ps(epilogue.limit), alpha = _mm512_set1_ps(epilogue.alpha);
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 mask = lowBits(n - j);
    __m512 g = _mm512_maskz_loadu_ps(mask, gate + j);
    __m512 u = up ? _mm512_maskz_loadu_ps(mask, up + j) : _mm512_set1_ps(1.0f);
    __m512 a;
    switch (epilogue.activation) {
    case MOEC_RT_ACTIVATION_RELU:
      a = _mm512_max_ps(g, _mm512_setzero_ps());
      break;
    case MOEC_RT_ACTIVATION_GELU_TANH: {
      __m512 cube = _mm512_mul_ps(_mm512_mul_ps(g, g), g);
      __m512 u2 = _mm512_mul_ps(_mm512_fmadd_ps(cube, _mm512_set1_ps(0.044715f), g),
                                _mm512_set1_ps(2.0f * 0.7978845608f));
      a = _mm512_mul_ps(g, sigmoidAvx512(u2));
      break;
    }
    case MOEC_RT_ACTIVATION_SILU:
      a = _mm512_mul_ps(g, sigmoidAvx512(g));
      break;
    case MOEC_RT_ACTIVATION_SWIGLU_CLAMPED: {
      g = _mm512_min_ps(g, limit);
      u = _mm512_add_ps(_mm512_min_ps(_mm512_max_ps(u, _mm512_sub_ps(_mm512_setzero_ps(), limit)),
                                      limit),
                        _mm512_set1_ps(1.0f));
      a = _mm512_mul_ps(g, sigmoidAvx512(_mm512_mul_ps(alpha, g)));
      break;
    }
    default:
      a = g;
    }
    _mm512_mask_storeu_ps(out + j, mask, _mm512_mul_ps(a, u));
  }
}

// rows x cols (cols <= 16 * Vecs) of out (+)= x[0..rows) (each from k0 to k1) times
// rows k0..k1 of the columns of w (row stride ldw), reading w once.
template <int Rows, int Vecs>
MOEC_AVX512 void streamTileAvx512(int64_t k0, int64_t k1, const float *const *x, const float *w,
                                  int64_t ldw, int64_t cols, float *out, int64_t ldo,
                                  bool accumulate) {
  __mmask16 mask[Vecs];
  __m512 acc[Rows][Vecs];
  for (int v = 0; v < Vecs; ++v) {
    mask[v] = lowBits(cols - 16 * v);
    for (int r = 0; r < Rows; ++r)
      acc[r][v] = accumulate ? _mm512_maskz_loadu_ps(mask[v], out + r * ldo + 16 * v)
                             : _mm512_setzero_ps();
  }
  for (int64_t k = k0; k < k1; ++k) {
    const float *row = w + k * ldw;
    for (int v = 0; v < Vecs; ++v)
      _mm_prefetch(reinterpret_cast<const char *>(row + kPrefetchRows * ldw + 16 * v),
                   _MM_HINT_T0);
    __m512 wv[Vecs];
    for (int v = 0; v < Vecs; ++v)
      wv[v] = _mm512_maskz_loadu_ps(mask[v], row + 16 * v);
    for (int r = 0; r < Rows; ++r) {
      __m512 xr = _mm512_set1_ps(x[r][k]);
      for (int v = 0; v < Vecs; ++v)
        acc[r][v] = _mm512_fmadd_ps(xr, wv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Vecs; ++v)
      _mm512_mask_storeu_ps(out + r * ldo + 16 * v, mask[v], acc[r][v]);
}

// Up to kRegisterRows rows over W rows k0..k1.
MOEC_AVX512 void streamRowGroupAvx512(int64_t rows, int64_t k0, int64_t k1,
                                      const float *const *x, const float *w, int64_t ldw,
                                      int64_t cols, float *out, int64_t ldo, bool accumulate) {
  switch (rows) {
  case 1:
    return streamTileAvx512<1, 8>(k0, k1, x, w, ldw, cols, out, ldo, accumulate);
  case 2:
    return streamTileAvx512<2, 8>(k0, k1, x, w, ldw, cols, out, ldo, accumulate);
  case 3:
    return streamTileAvx512<3, 4>(k0, k1, x, w, ldw, cols, out, ldo, accumulate);
  default:
    return streamTileAvx512<4, 4>(k0, k1, x, w, ldw, cols, out, ldo, accumulate);
  }
}

MOEC_AVX512 void streamTileAvx512AnyRows(int64_t rows, int64_t K, const float *const *x,
                                         const float *w, int64_t ldw, int64_t cols, float *out,
                                         int64_t ldo) {
  if (rows <= kRegisterRows)
    return streamRowGroupAvx512(rows, 0, K, x, w, ldw, cols, out, ldo, false);
  // Every group of rows reads a block of W rows while it is in L1; W comes from
  // memory once.
  for (int64_t k0 = 0; k0 < K; k0 += kStreamBlockK) {
    int64_t k1 = std::min(K, k0 + kStreamBlockK);
    for (int64_t r = 0; r < rows; r += kRegisterRows)
      streamRowGroupAvx512(std::min(kRegisterRows, rows - r), k0, k1, x + r, w, ldw, cols,
                           out + r * ldo, ldo, k0 > 0);
  }
}
#endif

void streamTilePortable(int64_t rows, int64_t K, const float *const *x, const float *w,
                        int64_t ldw, int64_t cols, float *out, int64_t ldo) {
  for (int64_t r = 0; r < rows; ++r)
    std::fill(out + r * ldo, out + r * ldo + cols, 0.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[r * ldo + c] += x[r][k] * w[k * ldw + c];
}

using StreamTile = void (*)(int64_t rows, int64_t K, const float *const *x, const float *w,
                            int64_t ldw, int64_t cols, float *out, int64_t ldo);
using EpilogueKernel = void (*)(const Epilogue &epilogue, const float *gate, const float *up,
                                int64_t n, float *out);

struct Kernels {
  StreamTile streamTile = streamTilePortable;
  EpilogueKernel epilogue = epilogueScalar;
  // Columns of a streaming tile for a segment of `rows` rows: what the register
  // accumulators of a row group cover.
  int64_t tileColumns(int64_t rows) const { return rows <= 2 ? kMaxTileColumns : 64; }
};

Kernels selectKernels() {
  Kernels kernels;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) {
    kernels.streamTile = streamTileAvx512AnyRows;
    kernels.epilogue = epilogueAvx512;
  }
#endif
  return kernels;
}

const Kernels kernels = selectKernels();

struct GroupedMatmul {
  int64_t K, N;
  const float *input;
  int64_t validIds;
  const int32_t *sortedIds;
  int64_t rowsPerToken;
  const float *weights, *bias;
  Epilogue epilogue;
  float *result;

  int64_t outColumns() const { return epilogue.gated ? N / 2 : N; }
  const float *inputRow(int64_t slot) const {
    return input + (sortedIds ? sortedIds[slot] / rowsPerToken : slot) * K;
  }
  const float *expertWeights(int64_t e) const { return weights + e * K * N; }
  const float *expertBias(int64_t e) const { return bias ? bias + e * N : nullptr; }
  bool needsEpilogue() const {
    return epilogue.gated || epilogue.activation != MOEC_RT_ACTIVATION_NONE;
  }
};

// One tile of a streaming segment: `cols` result columns from `column` on.
struct StreamItem {
  int64_t expert, firstRow, rows, column, cols;
};

struct StreamJob {
  const GroupedMatmul *gm;
  const StreamItem *items;
};

void runStreamItems(void *ctx, int64_t begin, int64_t end) {
  const auto &job = *static_cast<const StreamJob *>(ctx);
  const GroupedMatmul &gm = *job.gm;
  float raw[2][kMaxStreamingRows * kMaxTileColumns];
  for (int64_t i = begin; i < end; ++i) {
    const StreamItem &item = job.items[i];
    const float *x[kMaxStreamingRows];
    for (int64_t r = 0; r < item.rows; ++r)
      x[r] = gm.inputRow(item.firstRow + r);
    const float *w = gm.expertWeights(item.expert);
    const float *bias = gm.expertBias(item.expert);
    int64_t halves = gm.epilogue.gated ? 2 : 1;
    for (int64_t half = 0; half < halves; ++half) {
      int64_t column = item.column + half * gm.outColumns();
      kernels.streamTile(item.rows, gm.K, x, w + column, gm.N, item.cols, raw[half],
                         kMaxTileColumns);
      if (bias)
        for (int64_t r = 0; r < item.rows; ++r)
          for (int64_t c = 0; c < item.cols; ++c)
            raw[half][r * kMaxTileColumns + c] += bias[column + c];
    }
    for (int64_t r = 0; r < item.rows; ++r) {
      float *out = gm.result + (item.firstRow + r) * gm.outColumns() + item.column;
      const float *gate = raw[0] + r * kMaxTileColumns;
      if (gm.needsEpilogue())
        kernels.epilogue(gm.epilogue, gate, gm.epilogue.gated ? raw[1] + r * kMaxTileColumns
                                                              : nullptr,
                         item.cols, out);
      else
        std::memcpy(out, gate, item.cols * sizeof(float));
    }
  }
}

struct EpilogueJob {
  const GroupedMatmul *gm;
  const float *raw;
  float *out;
};

void runEpilogueRows(void *ctx, int64_t begin, int64_t end) {
  const auto &job = *static_cast<const EpilogueJob *>(ctx);
  const GroupedMatmul &gm = *job.gm;
  int64_t half = gm.outColumns();
  for (int64_t r = begin; r < end; ++r) {
    const float *raw = job.raw + r * gm.N;
    kernels.epilogue(gm.epilogue, raw, gm.epilogue.gated ? raw + half : nullptr, half,
                     job.out + r * half);
  }
}

// A segment of many rows: packed rows, the runtime GEMM from the bias, then the epilogue.
void multiplySegment(const GroupedMatmul &gm, int64_t expert, int64_t firstRow, int64_t rows,
                     std::vector<float> &packed, std::vector<float> &wide) {
  const float *a = gm.inputRow(firstRow);
  if (gm.sortedIds) {
    packed.resize(rows * gm.K);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(packed.data() + r * gm.K, gm.inputRow(firstRow + r), gm.K * sizeof(float));
    a = packed.data();
  }
  float *out = gm.result + firstRow * gm.outColumns();
  // Without a gate the product lands in the result and the activation runs in place.
  float *c = out;
  if (gm.epilogue.gated) {
    wide.resize(rows * gm.N);
    c = wide.data();
  }
  const float *bias = gm.expertBias(expert);
  if (bias)
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(c + r * gm.N, bias, gm.N * sizeof(float));
  moec_rt_sgemm(rows, gm.N, gm.K, a, gm.K, gm.expertWeights(expert), gm.N, c, gm.N,
                bias != nullptr);
  if (!gm.needsEpilogue())
    return;
  EpilogueJob job{&gm, c, out};
  if (rows * gm.N < (int64_t(1) << 14))
    runEpilogueRows(&job, 0, rows);
  else
    moec_rt_parallel_for(rows, runEpilogueRows, &job);
}
} // namespace

extern "C" void moec_rt_moe_grouped_matmul_f32(int64_t rows, int64_t K, int64_t N,
                                               int64_t experts, const float *input,
                                               int64_t input_rows, const int32_t *sorted_ids,
                                               int64_t rows_per_token,
                                               const int32_t *expert_offsets,
                                               const float *weights, const float *bias,
                                               int32_t activation, int32_t gated, float alpha,
                                               float limit, float *result) {
  GroupedMatmul gm{K,
                   N,
                   input,
                   input_rows * rows_per_token,
                   sorted_ids,
                   std::max<int64_t>(rows_per_token, 1),
                   weights,
                   bias,
                   Epilogue{activation, gated != 0, alpha, limit},
                   result};
  int64_t outColumns = gm.outColumns();
  auto zeroRows = [&](int64_t first, int64_t end) {
    if (end > first)
      std::memset(result + first * outColumns, 0, (end - first) * outColumns * sizeof(float));
  };

  std::vector<StreamItem> streamItems;
  std::vector<float> packed, wide;
  int64_t used = 0;
  for (int64_t e = 0; e < experts; ++e) {
    int64_t begin = std::clamp<int64_t>(expert_offsets[e], 0, rows);
    int64_t end = std::clamp<int64_t>(expert_offsets[e + 1], begin, rows);
    used = std::max(used, end);
    // Padding (ids naming no pair) follows a segment's pairs.
    int64_t valid = begin;
    while (valid < end && (!sorted_ids || (sorted_ids[valid] >= 0 &&
                                           sorted_ids[valid] < gm.validIds)))
      ++valid;
    zeroRows(valid, end);
    int64_t segmentRows = valid - begin;
    if (segmentRows == 0)
      continue;
    if (segmentRows > kMaxStreamingRows) {
      multiplySegment(gm, e, begin, segmentRows, packed, wide);
      continue;
    }
    int64_t tile = kernels.tileColumns(segmentRows);
    for (int64_t column = 0; column < outColumns; column += tile)
      streamItems.push_back({e, begin, segmentRows, column, std::min(tile, outColumns - column)});
  }
  zeroRows(used, rows);

  StreamJob job{&gm, streamItems.data()};
  int64_t items = int64_t(streamItems.size());
  if (items * K * kMaxTileColumns < (int64_t(1) << 16))
    runStreamItems(&job, 0, items);
  else
    moec_rt_parallel_for(items, runStreamItems, &job);
}
