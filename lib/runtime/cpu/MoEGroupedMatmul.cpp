//===- MoEGroupedMatmul.cpp - Expert GEMMs over the sorted-token layout ---===//
//
// Two regimes, chosen per expert by the rows of its segment:
// - a few rows (decoding, small batches; more for gated products): the product is
//   bound by reading the expert's weights once. The result columns are cut into
//   panels of up to 1024 columns; all such experts' panels go to the pool
//   together. A panel reads 8 W rows at a time, each a contiguous segment of its
//   columns, into partial output rows kept in cache (one load and store per 8
//   FMAs), so W streams in page-long runs the prefetchers follow. Bias starts the
//   rows; a gated panel computes the up columns beside the gate columns and applies
//   the activation in place, so the gated product never exists.
// - many rows: the segment's rows are gathered into a packed buffer and the
//   runtime's cache-blocked GEMM (Sgemm.cpp) runs on it, starting from the bias,
//   followed by a vectorized activation pass over the output.
//
// Quantized weights (int8, or int4 packed two rows per byte; signed, or unsigned with zero
// points packed like them) stay quantized in memory: a streaming panel expands them in
// registers, subtracts the group's zero points, and applies each group's scale to the sum
// of its rows; a segment of many rows has the GEMM read them a block of rows at a time,
// expanded into a small f32 buffer. fp8 (e4m3) weights go the same ways, with one scale per
// block of rows and columns: a streaming panel widens them in registers by bit arithmetic
// and folds each block's scale into the inputs; the GEMM's buffer takes them from a table
// of the 256 values a byte stands for.
//
//===----------------------------------------------------------------------===//

#include "moec-runtime/kernels.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {
// Segments of at most this many rows take the streaming (GEMV-like) kernel.
constexpr int64_t kMaxStreamingRows = 16;
// Gated products stream up to this many rows: the GEMM path would write the gate and up
// halves out in full and read them back for the epilogue, which a panel applies in cache.
constexpr int64_t kMaxStreamingRowsGated = 48;
// Rows whose broadcast inputs one streaming pass keeps in registers.
constexpr int64_t kRegisterRows = 4;
// Rows of W read together: each output vector is loaded and stored once per this many.
constexpr int kPanelUnroll = 8;
// Floats of W (of one panel; 8 rows of 1024 columns) that stay in L1/L2 while every group
// of rows reads them.
constexpr int64_t kPanelBlockFloats = 8192;
// Rows of W ahead of the block being read that a panel prefetches in software (0: none;
// 4 to 32 measured no better than the hardware prefetchers on Zen 4).
constexpr int kPanelPrefetch = 0;
// Columns of a streaming panel, at most: each W row is read in segments of this many
// contiguous floats (4 KiB, one page), and a panel's partial rows stay in L1.
constexpr int64_t kMaxPanelColumns = 1024;
// Narrowest panel: when there are few panels, narrower ones spread the work over threads.
constexpr int64_t kMinPanelColumns = 256;
// Panel columns for segments of over kMaxStreamingRows rows (gated only).
constexpr int64_t kManyRowsPanelColumns = 256;
// Rows of quantized W that a segment of many rows expands into f32 for each GEMM call (even,
// for int4's pairs of rows).
constexpr int64_t kDequantizedRows = 64;

// Quantized weights of one expert, from one column on: int8 rows of `ld` bytes, or pairs of
// int4 rows packed in one row of bytes (the even row in the low nibble), with one scale per
// column for every group of `groupRows` rows. Without zero points the integers are signed;
// with them they are unsigned, and so are the zero points, one per column for every group,
// packed as the rows are (int4: pairs of groups in one row of bytes).
struct QuantizedPanel {
  const int8_t *q;
  const float *scales;
  // Bytes between rows of q (of byte pairs for int4); floats between groups of scales.
  int64_t ld;
  int64_t groupRows;
  const uint8_t *zeroPoints = nullptr;
};

// Element `row`, column c of `bytes` (rows of `ld` bytes, `Bits` bits each, pairs of 4-bit
// rows in one row of bytes), signed or unsigned.
template <int Bits, bool Unsigned>
int32_t packedAt(const int8_t *bytes, int64_t ld, int64_t row, int64_t c) {
  if constexpr (Bits == 8) {
    return Unsigned ? int32_t(uint8_t(bytes[row * ld + c])) : int32_t(bytes[row * ld + c]);
  } else {
    auto byte = uint8_t(bytes[(row / 2) * ld + c]);
    uint8_t nibble = row % 2 ? byte >> 4 : byte & 0xF;
    return Unsigned ? int32_t(nibble) : int32_t(nibble ^ 8) - 8;
  }
}

// Weight row k, column c of `w`, as the number it stands for before scaling: the integer
// it holds, less the zero point of its group.
template <int Bits> float quantizedAt(const QuantizedPanel &w, int64_t k, int64_t c) {
  if (!w.zeroPoints)
    return float(packedAt<Bits, false>(w.q, w.ld, k, c));
  auto zeroPoints = reinterpret_cast<const int8_t *>(w.zeroPoints);
  return float(packedAt<Bits, true>(w.q, w.ld, k, c) -
               packedAt<Bits, true>(zeroPoints, w.ld, k / w.groupRows, c));
}

// Rows [k0, k1) of `w` (all `columns` of them) as f32 into `out`, [k1 - k0, columns].
template <int Bits>
void dequantizeRows(const QuantizedPanel &w, int64_t k0, int64_t k1, int64_t columns,
                    float *out) {
  for (int64_t k = k0; k < k1; ++k) {
    const float *scale = w.scales + (k / w.groupRows) * w.ld;
    float *row = out + (k - k0) * columns;
    for (int64_t c = 0; c < columns; ++c)
      row[c] = quantizedAt<Bits>(w, k, c) * scale[c];
  }
}

// fp8 (e4m3) weights of one expert, from column `firstColumn` on: rows of `ld` bytes, with
// one scale per block of `blockRows` rows and `blockColumns` columns (`scales`: the
// expert's `[K / blockRows, scaleLd]`).
struct FP8Panel {
  const uint8_t *q;
  int64_t ld;
  const float *scales;
  int64_t scaleLd, blockRows, blockColumns, firstColumn;

  // The scales of row k's block row, from the panel's first column on.
  const float *scaleRow(int64_t k) const { return scales + (k / blockRows) * scaleLd; }
  float scaleAt(int64_t k, int64_t c) const {
    return scaleRow(k)[(firstColumn + c) / blockColumns];
  }
};

// The value of e4m3fn byte `byte` (sign, 4 exponent bits of bias 7, 3 mantissa bits; no
// infinities, S.1111.111 is NaN; exponent 0 is subnormal).
float decodeE4M3(uint8_t byte) {
  int exponent = (byte >> 3) & 0xF, mantissa = byte & 7;
  float magnitude = exponent == 0xF && mantissa == 7 ? NAN
                    : exponent == 0                  ? std::ldexp(float(mantissa), -9)
                                    : std::ldexp(float(8 + mantissa), exponent - 10);
  return byte & 0x80 ? -magnitude : magnitude;
}

std::array<float, 256> makeE4M3Table() {
  std::array<float, 256> table;
  for (int byte = 0; byte < 256; ++byte)
    table[byte] = decodeE4M3(uint8_t(byte));
  return table;
}

const std::array<float, 256> kE4M3 = makeE4M3Table();

// Rows [k0, k1) of `w` (all `columns` of them) as f32 into `out`, [k1 - k0, columns].
void dequantizeFP8Rows(const FP8Panel &w, int64_t k0, int64_t k1, int64_t columns, float *out) {
  for (int64_t k = k0; k < k1; ++k)
    for (int64_t c = 0; c < columns; ++c)
      out[(k - k0) * columns + c] = kE4M3[w.q[k * w.ld + c]] * w.scaleAt(k, c);
}

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
  case MOEC_RT_ACTIVATION_RELU2:
    return std::max(x, 0.0f) * std::max(x, 0.0f);
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
    } else if (epilogue.activation == MOEC_RT_ACTIVATION_SILU_CLAMPED) {
      float g = std::min(gate[j], epilogue.limit);
      out[j] = std::clamp(up[j], -epilogue.limit, epilogue.limit) * g * sigmoid(g);
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
    case MOEC_RT_ACTIVATION_RELU2:
      a = _mm512_max_ps(g, _mm512_setzero_ps());
      a = _mm512_mul_ps(a, a);
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
    case MOEC_RT_ACTIVATION_SILU_CLAMPED:
      g = _mm512_min_ps(g, limit);
      u = _mm512_min_ps(_mm512_max_ps(u, _mm512_sub_ps(_mm512_setzero_ps(), limit)), limit);
      a = _mm512_mul_ps(g, sigmoidAvx512(g));
      break;
    default:
      a = g;
    }
    _mm512_mask_storeu_ps(out + j, mask, _mm512_mul_ps(a, u));
  }
}

// out[r][0..cols) += sum over k in [k0, k1) of x[r][k] * w[k * ldw + 0..cols), for Rows
// rows. W is read as Unroll row segments of `cols` contiguous floats at a time (a page or
// two each, which the hardware prefetchers follow); the partial rows stay in L1.
template <int Rows>
MOEC_AVX512 void panelRowsAvx512(int64_t k0, int64_t k1, const float *const *x, const float *w,
                                 int64_t ldw, int64_t cols, float *out, int64_t ldo) {
  constexpr int Unroll = kPanelUnroll;
  int64_t k = k0;
  for (; k + Unroll <= k1; k += Unroll) {
    const float *row = w + k * ldw;
    __m512 xb[Rows][Unroll];
    for (int r = 0; r < Rows; ++r)
      for (int u = 0; u < Unroll; ++u)
        xb[r][u] = _mm512_set1_ps(x[r][k + u]);
    for (int64_t c = 0; c < cols; c += 16) {
      __mmask16 mask = lowBits(cols - c);
      __m512 wv[Unroll];
      for (int u = 0; u < Unroll; ++u) {
        if (kPanelPrefetch)
          _mm_prefetch(reinterpret_cast<const char *>(row + (u + kPanelPrefetch) * ldw + c),
                       _MM_HINT_T0);
        wv[u] = _mm512_maskz_loadu_ps(mask, row + u * ldw + c);
      }
      for (int r = 0; r < Rows; ++r) {
        __m512 o = _mm512_maskz_loadu_ps(mask, out + r * ldo + c);
        for (int u = 0; u < Unroll; ++u)
          o = _mm512_fmadd_ps(xb[r][u], wv[u], o);
        _mm512_mask_storeu_ps(out + r * ldo + c, mask, o);
      }
    }
  }
  for (; k < k1; ++k) {
    const float *row = w + k * ldw;
    __m512 xb[Rows];
    for (int r = 0; r < Rows; ++r)
      xb[r] = _mm512_set1_ps(x[r][k]);
    for (int64_t c = 0; c < cols; c += 16) {
      __mmask16 mask = lowBits(cols - c);
      __m512 wv = _mm512_maskz_loadu_ps(mask, row + c);
      for (int r = 0; r < Rows; ++r) {
        __m512 o = _mm512_maskz_loadu_ps(mask, out + r * ldo + c);
        _mm512_mask_storeu_ps(out + r * ldo + c, mask, _mm512_fmadd_ps(xb[r], wv, o));
      }
    }
  }
}

// Any number of rows: groups of up to kRegisterRows rows take each block of `blockK` W rows
// in turn while it is in L1, so W comes from memory once. `kernel.run<R>(k0, k1, x, out)`
// multiplies R rows by W rows [k0, k1).
template <typename Kernel>
void forRowGroups(int64_t rows, int64_t K, int64_t blockK, const Kernel &kernel,
                  const float *const *x, float *out, int64_t ldo) {
  if (rows <= kRegisterRows)
    blockK = K;
  for (int64_t k0 = 0; k0 < K; k0 += blockK) {
    int64_t k1 = std::min(K, k0 + blockK);
    for (int64_t r = 0; r < rows; r += kRegisterRows) {
      const float *const *xr = x + r;
      float *o = out + r * ldo;
      switch (std::min(kRegisterRows, rows - r)) {
      case 1:
        kernel.template run<1>(k0, k1, xr, o);
        break;
      case 2:
        kernel.template run<2>(k0, k1, xr, o);
        break;
      case 3:
        kernel.template run<3>(k0, k1, xr, o);
        break;
      default:
        kernel.template run<4>(k0, k1, xr, o);
      }
    }
  }
}

// A block of W rows that stays in L1 while row groups read it: about `bytes` of W in
// `cols`-wide rows, a whole number of unrolled passes.
int64_t panelBlockRows(int64_t bytes, int64_t cols) {
  return std::max<int64_t>(kPanelUnroll, bytes / cols / kPanelUnroll * kPanelUnroll);
}

struct F32PanelKernel {
  const float *w;
  int64_t ldw, cols, ldo;

  template <int Rows>
  MOEC_AVX512 void run(int64_t k0, int64_t k1, const float *const *x, float *out) const {
    panelRowsAvx512<Rows>(k0, k1, x, w, ldw, cols, out, ldo);
  }
};

MOEC_AVX512 void panelAvx512(int64_t rows, int64_t K, const float *const *x, const float *w,
                             int64_t ldw, int64_t cols, float *out, int64_t ldo) {
  forRowGroups(rows, K, panelBlockRows(kPanelBlockFloats * sizeof(float), cols),
                     F32PanelKernel{w, ldw, cols, ldo}, x, out, ldo);
}

// 16 bytes of a row of W, or the `n` left at its end (zeros after them).
MOEC_AVX512 __m128i loadBytes16(const void *p, int64_t n) {
  if (n >= 16)
    return _mm_loadu_si128(static_cast<const __m128i *>(p));
  alignas(16) int8_t tail[16] = {};
  std::memcpy(tail, p, size_t(n));
  return _mm_load_si128(reinterpret_cast<const __m128i *>(tail));
}

// 16 bytes of a row of quantized W, or the `n` left at its end (zeros after them).
MOEC_AVX512 __m512i loadQuantizedBytes(const int8_t *p, int64_t n) {
  return _mm512_cvtepi8_epi32(loadBytes16(p, n));
}

// The zero points of group g of `w`, columns [c, c + 16), as 32-bit integers (zero without
// zero points).
template <int Bits>
MOEC_AVX512 __m512i zeroPointsAvx512(const QuantizedPanel &w, int64_t g, int64_t c, int64_t cols) {
  if (!w.zeroPoints)
    return _mm512_setzero_si512();
  constexpr int GroupsPerByte = Bits == 8 ? 1 : 2;
  __m512i bytes = loadQuantizedBytes(
      reinterpret_cast<const int8_t *>(w.zeroPoints) + (g / GroupsPerByte) * w.ld + c, cols - c);
  if (Bits == 4 && g % 2)
    bytes = _mm512_srli_epi32(bytes, 4);
  return _mm512_and_si512(bytes, _mm512_set1_epi32((1 << Bits) - 1));
}

// One row of `Bits`-bit integers in `bytes` (sign-extended bytes; for int4 the row in the
// low nibble, or the high one when `high`), less `zero` when the integers are unsigned
// (`hasZeroPoints`), as floats.
template <int Bits>
MOEC_AVX512 __m512 expandAvx512(__m512i bytes, bool high, bool hasZeroPoints, __m512i zero) {
  if (hasZeroPoints) {
    __m512i field = Bits == 4 && high ? _mm512_srli_epi32(bytes, 4) : bytes;
    field = _mm512_and_si512(field, _mm512_set1_epi32((1 << Bits) - 1));
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(field, zero));
  }
  if (Bits == 8)
    return _mm512_cvtepi32_ps(bytes);
  return _mm512_cvtepi32_ps(high ? _mm512_srai_epi32(bytes, 4)
                                 : _mm512_srai_epi32(_mm512_slli_epi32(bytes, 28), 28));
}

// out[r][0..16) (the lanes of `mask`) += s * sum over u of xb[r][u] * wv[u], for Rows rows
// of `ldo` floats: the weights of U rows, expanded, times the broadcast inputs, scaled once.
template <int Rows, int U>
MOEC_AVX512 void addScaledSumsAvx512(const __m512 (&xb)[Rows][U], const __m512 (&wv)[U], __m512 s,
                                     __mmask16 mask, float *out, int64_t ldo) {
  for (int r = 0; r < Rows; ++r) {
    __m512 sum = _mm512_mul_ps(xb[r][0], wv[0]);
    for (int u = 1; u < U; ++u)
      sum = _mm512_fmadd_ps(xb[r][u], wv[u], sum);
    __m512 o = _mm512_maskz_loadu_ps(mask, out + r * ldo);
    _mm512_mask_storeu_ps(out + r * ldo, mask, _mm512_fmadd_ps(sum, s, o));
  }
}

// out[r][0..cols) += scale(group of k) * sum over u of x[r][k + u] * q[k + u][0..cols), for
// U rows of one group from k on (k even for int4). The integers are expanded to floats in
// registers, less the group's zero points; the group's scale multiplies their sum once.
template <int Rows, int Bits, int U>
MOEC_AVX512 void quantizedPassAvx512(int64_t k, const float *const *x, const QuantizedPanel &w,
                                     int64_t cols, float *out, int64_t ldo) {
  constexpr int RowsPerByte = Bits == 8 ? 1 : 2;
  static_assert(U % RowsPerByte == 0, "int4 passes take whole pairs of rows");
  __m512 xb[Rows][U];
  for (int r = 0; r < Rows; ++r)
    for (int u = 0; u < U; ++u)
      xb[r][u] = _mm512_set1_ps(x[r][k + u]);
  const int8_t *q = w.q + (k / RowsPerByte) * w.ld;
  const float *scale = w.scales + (k / w.groupRows) * w.ld;
  bool hasZeroPoints = w.zeroPoints != nullptr;
  for (int64_t c = 0; c < cols; c += 16) {
    __mmask16 mask = lowBits(cols - c);
    __m512 wv[U];
    __m512i zero = zeroPointsAvx512<Bits>(w, k / w.groupRows, c, cols);
    for (int u = 0; u < U; u += RowsPerByte) {
      __m512i bytes = loadQuantizedBytes(q + (u / RowsPerByte) * w.ld + c, cols - c);
      wv[u] = expandAvx512<Bits>(bytes, false, hasZeroPoints, zero);
      if constexpr (Bits == 4)
        wv[u + 1] = expandAvx512<Bits>(bytes, true, hasZeroPoints, zero);
    }
    __m512 s = _mm512_maskz_loadu_ps(mask, scale + c);
    addScaledSumsAvx512<Rows, U>(xb, wv, s, mask, out + c, ldo);
  }
}

struct Avx512 {
  template <int Rows, int Bits, int U>
  static MOEC_AVX512 void pass(int64_t k, const float *const *x, const QuantizedPanel &w,
                               int64_t cols, float *out, int64_t ldo) {
    quantizedPassAvx512<Rows, Bits, U>(k, x, w, cols, out, ldo);
  }
};

#define MOEC_AVX2 __attribute__((target("avx2,fma,f16c")))

// 8 bytes of a row of W, or the `n` left at its end (zeros after them), in the low half.
MOEC_AVX2 __m128i loadBytes8(const void *p, int64_t n) {
  if (n >= 8)
    return _mm_loadl_epi64(static_cast<const __m128i *>(p));
  alignas(16) int8_t tail[16] = {};
  std::memcpy(tail, p, size_t(n));
  return _mm_load_si128(reinterpret_cast<const __m128i *>(tail));
}

// 8 bytes of a row of quantized W, or the `n` left at its end (zeros after them).
MOEC_AVX2 __m256i loadQuantizedBytesAvx2(const int8_t *p, int64_t n) {
  return _mm256_cvtepi8_epi32(loadBytes8(p, n));
}

// zeroPointsAvx512 and expandAvx512 with 8 columns at a time.
template <int Bits>
MOEC_AVX2 __m256i zeroPointsAvx2(const QuantizedPanel &w, int64_t g, int64_t c, int64_t cols) {
  if (!w.zeroPoints)
    return _mm256_setzero_si256();
  constexpr int GroupsPerByte = Bits == 8 ? 1 : 2;
  __m256i bytes = loadQuantizedBytesAvx2(
      reinterpret_cast<const int8_t *>(w.zeroPoints) + (g / GroupsPerByte) * w.ld + c, cols - c);
  if (Bits == 4 && g % 2)
    bytes = _mm256_srli_epi32(bytes, 4);
  return _mm256_and_si256(bytes, _mm256_set1_epi32((1 << Bits) - 1));
}

template <int Bits>
MOEC_AVX2 __m256 expandAvx2(__m256i bytes, bool high, bool hasZeroPoints, __m256i zero) {
  if (hasZeroPoints) {
    __m256i field = Bits == 4 && high ? _mm256_srli_epi32(bytes, 4) : bytes;
    field = _mm256_and_si256(field, _mm256_set1_epi32((1 << Bits) - 1));
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(field, zero));
  }
  if (Bits == 8)
    return _mm256_cvtepi32_ps(bytes);
  return _mm256_cvtepi32_ps(high ? _mm256_srai_epi32(bytes, 4)
                                 : _mm256_srai_epi32(_mm256_slli_epi32(bytes, 28), 28));
}

// The 8 floats at p, or the `n` left at the end of a row (zeros after them), and their
// store: masked only at the end, as AMD's masked AVX stores are microcoded and slow (an
// 8-row fp8 pass ran 3x faster without them on Zen 4).
MOEC_AVX2 __m256i lowLanesAvx2(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(std::min<int64_t>(n, 8))),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
MOEC_AVX2 __m256 loadLanesAvx2(const float *p, int64_t n) {
  return n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lowLanesAvx2(n));
}
MOEC_AVX2 void storeLanesAvx2(float *p, int64_t n, __m256 v) {
  if (n >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, lowLanesAvx2(n), v);
}

// addScaledSumsAvx512 with 8 columns at a time (the `n` left of a row's).
template <int Rows, int U>
MOEC_AVX2 void addScaledSumsAvx2(const __m256 (&xb)[Rows][U], const __m256 (&wv)[U], __m256 s,
                                 int64_t n, float *out, int64_t ldo) {
  for (int r = 0; r < Rows; ++r) {
    __m256 sum = _mm256_mul_ps(xb[r][0], wv[0]);
    for (int u = 1; u < U; ++u)
      sum = _mm256_fmadd_ps(xb[r][u], wv[u], sum);
    storeLanesAvx2(out + r * ldo, n, _mm256_fmadd_ps(sum, s, loadLanesAvx2(out + r * ldo, n)));
  }
}

// quantizedPassAvx512 with 8 columns at a time, for CPUs with AVX2, FMA and F16C only.
template <int Rows, int Bits, int U>
MOEC_AVX2 void quantizedPassAvx2(int64_t k, const float *const *x, const QuantizedPanel &w,
                                 int64_t cols, float *out, int64_t ldo) {
  constexpr int RowsPerByte = Bits == 8 ? 1 : 2;
  static_assert(U % RowsPerByte == 0, "int4 passes take whole pairs of rows");
  __m256 xb[Rows][U];
  for (int r = 0; r < Rows; ++r)
    for (int u = 0; u < U; ++u)
      xb[r][u] = _mm256_set1_ps(x[r][k + u]);
  const int8_t *q = w.q + (k / RowsPerByte) * w.ld;
  const float *scale = w.scales + (k / w.groupRows) * w.ld;
  bool hasZeroPoints = w.zeroPoints != nullptr;
  for (int64_t c = 0; c < cols; c += 8) {
    __m256 wv[U];
    __m256i zero = zeroPointsAvx2<Bits>(w, k / w.groupRows, c, cols);
    for (int u = 0; u < U; u += RowsPerByte) {
      __m256i bytes = loadQuantizedBytesAvx2(q + (u / RowsPerByte) * w.ld + c, cols - c);
      wv[u] = expandAvx2<Bits>(bytes, false, hasZeroPoints, zero);
      if constexpr (Bits == 4)
        wv[u + 1] = expandAvx2<Bits>(bytes, true, hasZeroPoints, zero);
    }
    addScaledSumsAvx2<Rows, U>(xb, wv, loadLanesAvx2(scale + c, cols - c), cols - c, out + c,
                               ldo);
  }
}

struct Avx2 {
  template <int Rows, int Bits, int U>
  static MOEC_AVX2 void pass(int64_t k, const float *const *x, const QuantizedPanel &w,
                             int64_t cols, float *out, int64_t ldo) {
    quantizedPassAvx2<Rows, Bits, U>(k, x, w, cols, out, ldo);
  }
};

// Whether every `lanes` columns of `w` from its first on lie in one block of columns.
bool fp8LanesShareScales(const FP8Panel &w, int64_t lanes) {
  return w.blockColumns % lanes == 0 && w.firstColumn % lanes == 0;
}

// The scales of `Lanes` columns from c on (of `cols`; the last column's again past them),
// from the scales of a block row, column by column.
template <int Lanes>
const float *fp8LaneScales(const FP8Panel &w, const float *scales, int64_t c, int64_t cols,
                           float (&lanes)[Lanes]) {
  for (int i = 0; i < Lanes; ++i)
    lanes[i] = scales[(w.firstColumn + std::min<int64_t>(c + i, cols - 1)) / w.blockColumns];
  return lanes;
}

// Columns [begin, end) of a panel, from column c on, that lie in one block of columns, and
// the scale of that block in `scales` (those of a block row), times `factor`.
struct FP8ColumnBlock {
  int64_t begin, end;
  float scale;
};
FP8ColumnBlock fp8ColumnBlock(const FP8Panel &w, const float *scales, int64_t c, int64_t cols,
                              float factor) {
  int64_t block = (w.firstColumn + c) / w.blockColumns;
  return {c, std::min(cols, (block + 1) * w.blockColumns - w.firstColumn),
          scales[block] * factor};
}

// xs[r][u] = x[r][k + u] * scale: a block's inputs with its scale folded in.
template <int Rows, int U>
void scaleInputs(const float *const *x, int64_t k, float scale, float (&xs)[Rows][U]) {
  for (int r = 0; r < Rows; ++r)
    for (int u = 0; u < U; ++u)
      xs[r][u] = x[r][k + u] * scale;
}

// 16 e4m3 bytes of a row (the `n` left at its end, zeros after them) as floats 2^8 too
// small, through halves: the sign-extended byte shifted left by 7, less the copy of the
// sign in bit 14, has the sign in bit 15 and e4m3's 4 exponent and 3 mantissa bits in a
// half's top exponent and mantissa bits, 2^(15 - 7) too small (subnormal e4m3 land on
// subnormal halves), which vcvtph2ps widens exactly; S.1111.111 becomes a NaN half. Cheaper
// than a gather from the 256-entry table (docs/quantization.md).
MOEC_AVX512 __m512 expandE4M3Avx512(const uint8_t *p, int64_t n) {
  __m256i words = _mm256_cvtepi8_epi16(loadBytes16(p, n));
  __m256i half = _mm256_and_si256(_mm256_slli_epi16(words, 7),
                                  _mm256_set1_epi16(int16_t(0xBF80)));
  __m256i nan = _mm256_cmpeq_epi16(_mm256_or_si256(words, _mm256_set1_epi16(int16_t(0xFF80))),
                                   _mm256_set1_epi16(-1));
  return _mm512_cvtph_ps(_mm256_or_si256(half, nan));
}

// What expandE4M3Avx512 (and expandE4M3Avx2) leave out of e4m3's values.
constexpr float kE4M3HalfScale = 0x1p8f;

// out[r][0..cols) += sum over u of x[r][k + u] * (e4m3(q[k + u][c]) * scale), for U rows
// of one block row from k on. Where blocks of columns are a multiple of 16 wide (so that
// 16 columns share a scale), each block's scale is folded into the inputs once, and every
// row's products go straight into its partial output row (a chain of U FMAs, as f32's);
// otherwise each row's sum is scaled per column.
template <int Rows, int U>
MOEC_AVX512 void fp8PassAvx512(int64_t k, const float *const *x, const FP8Panel &w, int64_t cols,
                               float *out, int64_t ldo) {
  const uint8_t *q = w.q + k * w.ld;
  const float *scales = w.scaleRow(k);
  if (!fp8LanesShareScales(w, 16)) {
    __m512 xb[Rows][U];
    for (int r = 0; r < Rows; ++r)
      for (int u = 0; u < U; ++u)
        xb[r][u] = _mm512_set1_ps(x[r][k + u]);
    for (int64_t c = 0; c < cols; c += 16) {
      __m512 wv[U];
      for (int u = 0; u < U; ++u)
        wv[u] = expandE4M3Avx512(q + u * w.ld + c, cols - c);
      alignas(64) float lanes[16];
      __m512 s = _mm512_mul_ps(_mm512_load_ps(fp8LaneScales(w, scales, c, cols, lanes)),
                               _mm512_set1_ps(kE4M3HalfScale));
      addScaledSumsAvx512<Rows, U>(xb, wv, s, lowBits(cols - c), out + c, ldo);
    }
    return;
  }
  for (int64_t c0 = 0; c0 < cols;) {
    FP8ColumnBlock block = fp8ColumnBlock(w, scales, c0, cols, kE4M3HalfScale);
    float xs[Rows][U];
    scaleInputs(x, k, block.scale, xs);
    for (int64_t c = c0; c < block.end; c += 16) {
      __mmask16 mask = lowBits(block.end - c);
      __m512 wv[U];
      for (int u = 0; u < U; ++u)
        wv[u] = expandE4M3Avx512(q + u * w.ld + c, block.end - c);
      for (int r = 0; r < Rows; ++r) {
        __m512 o = _mm512_maskz_loadu_ps(mask, out + r * ldo + c);
        for (int u = 0; u < U; ++u)
          o = _mm512_fmadd_ps(_mm512_set1_ps(xs[r][u]), wv[u], o);
        _mm512_mask_storeu_ps(out + r * ldo + c, mask, o);
      }
    }
    c0 = block.end;
  }
}

// expandE4M3Avx512 for 8 bytes (F16C's vcvtph2ps). Widening through halves leaves out the
// f32 bit arithmetic's multiply by 2^120, whose subnormal inputs made it ~1.8x slower.
MOEC_AVX2 __m256 expandE4M3Avx2(const uint8_t *p, int64_t n) {
  __m128i words = _mm_cvtepi8_epi16(loadBytes8(p, n));
  __m128i half = _mm_and_si128(_mm_slli_epi16(words, 7), _mm_set1_epi16(int16_t(0xBF80)));
  __m128i nan = _mm_cmpeq_epi16(_mm_or_si128(words, _mm_set1_epi16(int16_t(0xFF80))),
                                _mm_set1_epi16(-1));
  return _mm256_cvtph_ps(_mm_or_si128(half, nan));
}

// fp8PassAvx512 with 8 columns at a time, for CPUs with AVX2, FMA and F16C only.
template <int Rows, int U>
MOEC_AVX2 void fp8PassAvx2(int64_t k, const float *const *x, const FP8Panel &w, int64_t cols,
                           float *out, int64_t ldo) {
  const uint8_t *q = w.q + k * w.ld;
  const float *scales = w.scaleRow(k);
  if (!fp8LanesShareScales(w, 8)) {
    __m256 xb[Rows][U];
    for (int r = 0; r < Rows; ++r)
      for (int u = 0; u < U; ++u)
        xb[r][u] = _mm256_set1_ps(x[r][k + u]);
    for (int64_t c = 0; c < cols; c += 8) {
      __m256 wv[U];
      for (int u = 0; u < U; ++u)
        wv[u] = expandE4M3Avx2(q + u * w.ld + c, cols - c);
      alignas(32) float laneScales[8];
      __m256 s = _mm256_mul_ps(_mm256_load_ps(fp8LaneScales(w, scales, c, cols, laneScales)),
                               _mm256_set1_ps(kE4M3HalfScale));
      addScaledSumsAvx2<Rows, U>(xb, wv, s, cols - c, out + c, ldo);
    }
    return;
  }
  for (int64_t c0 = 0; c0 < cols;) {
    FP8ColumnBlock block = fp8ColumnBlock(w, scales, c0, cols, kE4M3HalfScale);
    float xs[Rows][U];
    scaleInputs(x, k, block.scale, xs);
    for (int64_t c = c0; c < block.end; c += 8) {
      __m256 wv[U];
      for (int u = 0; u < U; ++u)
        wv[u] = expandE4M3Avx2(q + u * w.ld + c, block.end - c);
      for (int r = 0; r < Rows; ++r) {
        __m256 o = loadLanesAvx2(out + r * ldo + c, block.end - c);
        for (int u = 0; u < U; ++u)
          o = _mm256_fmadd_ps(_mm256_set1_ps(xs[r][u]), wv[u], o);
        storeLanesAvx2(out + r * ldo + c, block.end - c, o);
      }
    }
    c0 = block.end;
  }
}

struct FP8Avx512 {
  template <int Rows, int U>
  static MOEC_AVX512 void pass(int64_t k, const float *const *x, const FP8Panel &w, int64_t cols,
                               float *out, int64_t ldo) {
    fp8PassAvx512<Rows, U>(k, x, w, cols, out, ldo);
  }
};

struct FP8Avx2 {
  template <int Rows, int U>
  static MOEC_AVX2 void pass(int64_t k, const float *const *x, const FP8Panel &w, int64_t cols,
                             float *out, int64_t ldo) {
    fp8PassAvx2<Rows, U>(k, x, w, cols, out, ldo);
  }
};

template <typename Isa> struct FP8PanelKernel {
  const FP8Panel &w;
  int64_t cols, ldo;

  // W rows [k0, k1) in passes of kPanelUnroll rows within a block row, the rest singly.
  template <int Rows> void run(int64_t k0, int64_t k1, const float *const *x, float *out) const {
    for (int64_t k = k0; k < k1;) {
      int64_t blockEnd = std::min(k1, (k / w.blockRows + 1) * w.blockRows);
      if (blockEnd - k >= kPanelUnroll) {
        Isa::template pass<Rows, kPanelUnroll>(k, x, w, cols, out, ldo);
        k += kPanelUnroll;
      } else {
        Isa::template pass<Rows, 1>(k, x, w, cols, out, ldo);
        ++k;
      }
    }
  }
};

// Blocks of W rows hold as many bytes as an int8 panel's.
template <typename Isa>
void fp8Panel(int64_t rows, int64_t K, const float *const *x, const FP8Panel &w, int64_t cols,
              float *out, int64_t ldo) {
  forRowGroups(rows, K, panelBlockRows(kPanelBlockFloats * sizeof(float), cols),
               FP8PanelKernel<Isa>{w, cols, ldo}, x, out, ldo);
}

// W rows [k0, k1) in passes (Isa::pass) of kPanelUnroll rows within a group, the rest of a
// group in single rows (pairs for int4, whose groups have an even number of rows).
template <int Rows, int Bits, typename Isa>
void quantizedPanelRows(int64_t k0, int64_t k1, const float *const *x, const QuantizedPanel &w,
                        int64_t cols, float *out, int64_t ldo) {
  constexpr int RowsPerByte = Bits == 8 ? 1 : 2;
  for (int64_t k = k0; k < k1;) {
    int64_t groupEnd = std::min(k1, (k / w.groupRows + 1) * w.groupRows);
    if (groupEnd - k >= kPanelUnroll) {
      Isa::template pass<Rows, Bits, kPanelUnroll>(k, x, w, cols, out, ldo);
      k += kPanelUnroll;
    } else {
      Isa::template pass<Rows, Bits, RowsPerByte>(k, x, w, cols, out, ldo);
      k += RowsPerByte;
    }
  }
}

template <int Bits, typename Isa> struct QuantizedPanelKernel {
  const QuantizedPanel &w;
  int64_t cols, ldo;

  template <int Rows>
  void run(int64_t k0, int64_t k1, const float *const *x, float *out) const {
    quantizedPanelRows<Rows, Bits, Isa>(k0, k1, x, w, cols, out, ldo);
  }
};

// Blocks of W rows hold about as many bytes as an f32 panel's, an even number of rows.
template <int Bits, typename Isa>
void quantizedPanel(int64_t rows, int64_t K, const float *const *x, const QuantizedPanel &w,
                    int64_t cols, float *out, int64_t ldo) {
  int64_t blockRows = panelBlockRows(kPanelBlockFloats * sizeof(float) * Bits / 8, cols);
  forRowGroups(rows, K, blockRows, QuantizedPanelKernel<Bits, Isa>{w, cols, ldo}, x, out, ldo);
}
#endif

// The portable panel: out[r][0..cols) += x[r][0..K) times W's rows.
void panelPortable(int64_t rows, int64_t K, const float *const *x, const float *w, int64_t ldw,
                   int64_t cols, float *out, int64_t ldo) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[r * ldo + c] += x[r][k] * w[k * ldw + c];
}

// The portable quantized panel: each weight expanded and scaled on its own.
template <int Bits>
void quantizedPanelPortable(int64_t rows, int64_t K, const float *const *x,
                            const QuantizedPanel &w, int64_t cols, float *out, int64_t ldo) {
  for (int64_t k = 0; k < K; ++k) {
    const float *scale = w.scales + (k / w.groupRows) * w.ld;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[r * ldo + c] += x[r][k] * (quantizedAt<Bits>(w, k, c) * scale[c]);
  }
}

using Panel = void (*)(int64_t rows, int64_t K, const float *const *x, const float *w,
                       int64_t ldw, int64_t cols, float *out, int64_t ldo);
using QuantizedPanelFn = void (*)(int64_t rows, int64_t K, const float *const *x,
                                  const QuantizedPanel &w, int64_t cols, float *out,
                                  int64_t ldo);
using EpilogueKernel = void (*)(const Epilogue &epilogue, const float *gate, const float *up,
                                int64_t n, float *out);
using FP8PanelFn = void (*)(int64_t rows, int64_t K, const float *const *x, const FP8Panel &w,
                            int64_t cols, float *out, int64_t ldo);

// The portable fp8 panel: each weight looked up and scaled on its own.
void fp8PanelPortable(int64_t rows, int64_t K, const float *const *x, const FP8Panel &w,
                      int64_t cols, float *out, int64_t ldo) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        out[r * ldo + c] += x[r][k] * (kE4M3[w.q[k * w.ld + c]] * w.scaleAt(k, c));
}

struct Kernels {
  Panel panel = panelPortable;
  EpilogueKernel epilogue = epilogueScalar;
  QuantizedPanelFn int8Panel = quantizedPanelPortable<8>;
  // For groups of an even number of rows (the pairs of a byte never straddle two groups).
  QuantizedPanelFn int4Panel = quantizedPanelPortable<4>;
  FP8PanelFn fp8Panel = fp8PanelPortable;
};

// The best kernels this CPU runs (AVX-512; else AVX2, FMA and F16C for quantized and fp8
// weights), or those that MOEC_CPU_KERNELS names (portable, avx2), so that every kind can be
// checked on one machine.
Kernels selectKernels() {
  Kernels kernels;
  const char *choice = std::getenv("MOEC_CPU_KERNELS");
  auto chosen = [&](const char *name) { return choice && std::strcmp(choice, name) == 0; };
  if (chosen("portable"))
    return kernels;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f") && !chosen("avx2")) {
    kernels.panel = panelAvx512;
    kernels.epilogue = epilogueAvx512;
    kernels.int8Panel = quantizedPanel<8, Avx512>;
    kernels.int4Panel = quantizedPanel<4, Avx512>;
    kernels.fp8Panel = fp8Panel<FP8Avx512>;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("f16c")) {
    kernels.int8Panel = quantizedPanel<8, Avx2>;
    kernels.int4Panel = quantizedPanel<4, Avx2>;
    kernels.fp8Panel = fp8Panel<FP8Avx2>;
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
  // Instead of `weights`: int8 or packed int4 weights (bits 8 or 4), their scales and
  // zero points (null: signed weights).
  const int8_t *quantized = nullptr;
  int32_t bits = 0;
  const float *scales = nullptr;
  int64_t groups = 1;
  const uint8_t *zeroPoints = nullptr;
  // Instead of `weights`: fp8 weights and their `[groups, scaleColumns]` block scales.
  const uint8_t *fp8 = nullptr;
  int64_t scaleColumns = 1;

  int64_t outColumns() const { return epilogue.gated ? N / 2 : N; }
  const float *inputRow(int64_t slot) const {
    return input + (sortedIds ? sortedIds[slot] / rowsPerToken : slot) * K;
  }
  const float *expertWeights(int64_t e) const { return weights + e * K * N; }
  const float *expertBias(int64_t e) const { return bias ? bias + e * N : nullptr; }
  QuantizedPanel quantizedPanel(int64_t e, int64_t column) const {
    int64_t byteRows = bits == 8 ? K : (K + 1) / 2;
    int64_t zeroPointRows = bits == 8 ? groups : (groups + 1) / 2;
    return {quantized + e * byteRows * N + column, scales + e * groups * N + column, N, K / groups,
            zeroPoints ? zeroPoints + e * zeroPointRows * N + column : nullptr};
  }

  FP8Panel fp8Panel(int64_t e, int64_t column) const {
    return {fp8 + e * K * N + column,
            N,
            scales + e * groups * scaleColumns,
            scaleColumns,
            K / groups,
            N / scaleColumns,
            column};
  }

  // out[r][0..cols) += x[r] times expert e's W columns [column, column + cols).
  void panel(int64_t rows, const float *const *x, int64_t e, int64_t column, int64_t cols,
             float *out, int64_t ldo) const {
    if (fp8)
      return kernels.fp8Panel(rows, K, x, fp8Panel(e, column), cols, out, ldo);
    if (!quantized)
      return kernels.panel(rows, K, x, expertWeights(e) + column, N, cols, out, ldo);
    QuantizedPanel w = quantizedPanel(e, column);
    QuantizedPanelFn kernel = bits == 8                ? kernels.int8Panel
                              : w.groupRows % 2 == 0 ? kernels.int4Panel
                                                     : quantizedPanelPortable<4>;
    kernel(rows, K, x, w, cols, out, ldo);
  }

  // c (+)= a times expert e's W, through the runtime GEMM; quantized (and fp8) W is
  // expanded kDequantizedRows rows at a time into `expanded`.
  void multiply(int64_t rows, const float *a, int64_t e, float *c, bool accumulate,
                std::vector<float> &expanded) const {
    if (!quantized && !fp8)
      return moec_rt_sgemm(rows, N, K, a, K, expertWeights(e), N, c, N, accumulate);
    expanded.resize(kDequantizedRows * N);
    for (int64_t k0 = 0; k0 < K; k0 += kDequantizedRows) {
      int64_t k1 = std::min(K, k0 + kDequantizedRows);
      if (fp8)
        dequantizeFP8Rows(fp8Panel(e, 0), k0, k1, N, expanded.data());
      else if (bits == 8)
        dequantizeRows<8>(quantizedPanel(e, 0), k0, k1, N, expanded.data());
      else
        dequantizeRows<4>(quantizedPanel(e, 0), k0, k1, N, expanded.data());
      moec_rt_sgemm(rows, N, k1 - k0, a + k0, K, expanded.data(), N, c, N, accumulate || k0 > 0);
    }
  }
  bool needsEpilogue() const {
    return epilogue.gated || epilogue.activation != MOEC_RT_ACTIVATION_NONE;
  }
};

// One panel of a streaming segment: `cols` result columns from `column` on.
struct StreamItem {
  int64_t expert, firstRow, rows, column, cols;
};

struct StreamJob {
  const GroupedMatmul *gm;
  const StreamItem *items;
};

// Sets `rows` rows of `cols` floats (stride ld) to the bias, or to zero without one.
void initRows(float *out, int64_t ld, int64_t rows, const float *bias, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    if (bias)
      std::memcpy(out + r * ld, bias, cols * sizeof(float));
    else
      std::memset(out + r * ld, 0, cols * sizeof(float));
  }
}

void runStreamItems(void *ctx, int64_t begin, int64_t end) {
  const auto &job = *static_cast<const StreamJob *>(ctx);
  const GroupedMatmul &gm = *job.gm;
  int64_t outColumns = gm.outColumns();
  // The up half of a gated panel; the gate half accumulates in the result itself.
  thread_local std::vector<float> upBuffer;
  for (int64_t i = begin; i < end; ++i) {
    const StreamItem &item = job.items[i];
    const float *x[kMaxStreamingRowsGated];
    for (int64_t r = 0; r < item.rows; ++r)
      x[r] = gm.inputRow(item.firstRow + r);
    const float *bias = gm.expertBias(item.expert);
    float *out = gm.result + item.firstRow * outColumns + item.column;
    initRows(out, outColumns, item.rows, bias ? bias + item.column : nullptr, item.cols);
    gm.panel(item.rows, x, item.expert, item.column, item.cols, out, outColumns);
    float *up = nullptr;
    if (gm.epilogue.gated) {
      upBuffer.resize(kMaxStreamingRowsGated * kMaxPanelColumns);
      up = upBuffer.data();
      int64_t column = item.column + outColumns;
      initRows(up, item.cols, item.rows, bias ? bias + column : nullptr, item.cols);
      gm.panel(item.rows, x, item.expert, column, item.cols, up, item.cols);
    }
    if (gm.needsEpilogue())
      for (int64_t r = 0; r < item.rows; ++r)
        kernels.epilogue(gm.epilogue, out + r * outColumns, up ? up + r * item.cols : nullptr,
                         item.cols, out + r * outColumns);
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
                     std::vector<float> &packed, std::vector<float> &wide,
                     std::vector<float> &expanded) {
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
  gm.multiply(rows, a, expert, c, bias != nullptr, expanded);
  if (!gm.needsEpilogue())
    return;
  EpilogueJob job{&gm, c, out};
  if (rows * gm.N < (int64_t(1) << 14))
    runEpilogueRows(&job, 0, rows);
  else
    moec_rt_parallel_for(rows, runEpilogueRows, &job);
}
// Every expert's segment of `rows` result rows (offsets in expert_offsets).
void runGroupedMatmul(const GroupedMatmul &gm, int64_t rows, int64_t experts,
                      const int32_t *expert_offsets) {
  const int32_t *sorted_ids = gm.sortedIds;
  float *result = gm.result;
  int64_t K = gm.K;
  int64_t outColumns = gm.outColumns();
  auto zeroRows = [&](int64_t first, int64_t end) {
    if (end > first)
      std::memset(result + first * outColumns, 0, (end - first) * outColumns * sizeof(float));
  };

  std::vector<StreamItem> streamSegments;
  std::vector<float> packed, wide, expanded;
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
    if (segmentRows > (gm.epilogue.gated ? kMaxStreamingRowsGated : kMaxStreamingRows)) {
      multiplySegment(gm, e, begin, segmentRows, packed, wide, expanded);
      continue;
    }
    streamSegments.push_back({e, begin, segmentRows, 0, 0});
  }
  zeroRows(used, rows);

  // Panels as wide as a page of every W row, narrower when there would be too few for
  // the pool's threads to share. One thread keeps them wide: a 1024-column W (the down
  // projection) is then read as one contiguous stream.
  int64_t maxRows = 0;
  for (const StreamItem &segment : streamSegments)
    maxRows = std::max(maxRows, segment.rows);
  // Segments of more rows take narrower panels, whose partial rows still fit in L1/L2.
  int64_t panelColumns = std::min(maxRows > kMaxStreamingRows ? kManyRowsPanelColumns
                                                              : kMaxPanelColumns,
                                  (outColumns + 15) / 16 * 16);
  int64_t threads = moec_rt_num_threads();
  auto panels = [&](int64_t width) {
    return int64_t(streamSegments.size()) * ((outColumns + width - 1) / width);
  };
  while (threads > 1 && panelColumns > kMinPanelColumns && panels(panelColumns) < 4 * threads)
    panelColumns /= 2;
  std::vector<StreamItem> streamItems;
  for (const StreamItem &segment : streamSegments)
    for (int64_t column = 0; column < outColumns; column += panelColumns)
      streamItems.push_back({segment.expert, segment.firstRow, segment.rows, column,
                             std::min(panelColumns, outColumns - column)});
  StreamJob job{&gm, streamItems.data()};
  int64_t items = int64_t(streamItems.size());
  if (items * K * panelColumns < (int64_t(1) << 16))
    runStreamItems(&job, 0, items);
  else
    moec_rt_parallel_for(items, runStreamItems, &job);
}

// The pairs' combine of a grouped matmul's rows into token order: ids [rows] name each
// row's pair, weights [tokens, k] weight the pairs.
struct Combine {
  const int32_t *ids;
  const float *weights;
  int64_t tokens, k;
};

// Runs `gm` and, with `combine.ids`, sums its rows into the tokens' result rows. The rows
// go to a buffer that stays between calls, whose pages are then mapped already; the
// combine reads them back while the cache still holds what a small batch wrote.
void runGroupedMatmul(GroupedMatmul gm, int64_t rows, int64_t experts,
                      const int32_t *expert_offsets, const Combine &combine) {
  if (!combine.ids)
    return runGroupedMatmul(gm, rows, experts, expert_offsets);
  thread_local std::vector<float> expertRows;
  float *result = gm.result;
  expertRows.resize(rows * gm.outColumns());
  gm.result = expertRows.data();
  runGroupedMatmul(gm, rows, experts, expert_offsets);
  moec_rt_moe_unpermute_f32(combine.tokens, combine.k, gm.outColumns(), rows,
                            expertRows.data(), combine.ids, combine.weights, result);
}

GroupedMatmul makeGroupedMatmul(int64_t K, int64_t N, const float *input, int64_t input_rows,
                                const int32_t *sorted_ids, int64_t rows_per_token,
                                const float *weights, const float *bias, int32_t activation,
                                int32_t gated, float alpha, float limit, float *result) {
  return GroupedMatmul{K,
                       N,
                       input,
                       input_rows * rows_per_token,
                       sorted_ids,
                       std::max<int64_t>(rows_per_token, 1),
                       weights,
                       bias,
                       Epilogue{activation, gated != 0, alpha, limit},
                       result};
}
} // namespace

extern "C" void moec_rt_moe_grouped_matmul_f32(int64_t rows, int64_t K, int64_t N,
                                               int64_t experts, const float *input,
                                               int64_t input_rows, const int32_t *sorted_ids,
                                               int64_t rows_per_token,
                                               const int32_t *expert_offsets,
                                               const float *weights, const float *bias,
                                               int32_t activation, int32_t gated, float alpha,
                                               float limit, const int32_t *combine_ids,
                                               const float *combine_weights, int64_t tokens,
                                               int64_t k, float *result) {
  runGroupedMatmul(makeGroupedMatmul(K, N, input, input_rows, sorted_ids, rows_per_token,
                                     weights, bias, activation, gated, alpha, limit, result),
                   rows, experts, expert_offsets, {combine_ids, combine_weights, tokens, k});
}

extern "C" void moec_rt_moe_grouped_matmul_quantized_f32(
    int64_t rows, int64_t K, int64_t N, int64_t experts, const float *input, int64_t input_rows,
    const int32_t *sorted_ids, int64_t rows_per_token, const int32_t *expert_offsets,
    const int8_t *weights, int32_t bits, const float *scales, int64_t groups,
    const uint8_t *zero_points, const float *bias, int32_t activation, int32_t gated, float alpha,
    float limit, const int32_t *combine_ids, const float *combine_weights, int64_t tokens,
    int64_t k, float *result) {
  GroupedMatmul gm = makeGroupedMatmul(K, N, input, input_rows, sorted_ids, rows_per_token,
                                       nullptr, bias, activation, gated, alpha, limit, result);
  gm.quantized = weights;
  gm.bits = bits;
  gm.scales = scales;
  gm.groups = std::max<int64_t>(groups, 1);
  gm.zeroPoints = zero_points;
  runGroupedMatmul(gm, rows, experts, expert_offsets, {combine_ids, combine_weights, tokens, k});
}

extern "C" void moec_rt_moe_grouped_matmul_fp8_f32(
    int64_t rows, int64_t K, int64_t N, int64_t experts, const float *input, int64_t input_rows,
    const int32_t *sorted_ids, int64_t rows_per_token, const int32_t *expert_offsets,
    const uint8_t *weights, const float *scales, int64_t row_blocks, int64_t column_blocks,
    const float *bias, int32_t activation, int32_t gated, float alpha, float limit,
    const int32_t *combine_ids, const float *combine_weights, int64_t tokens, int64_t k,
    float *result) {
  GroupedMatmul gm = makeGroupedMatmul(K, N, input, input_rows, sorted_ids, rows_per_token, nullptr,
                                       bias, activation, gated, alpha, limit, result);
  gm.fp8 = weights;
  gm.scales = scales;
  gm.groups = std::max<int64_t>(row_blocks, 1);
  gm.scaleColumns = std::max<int64_t>(column_blocks, 1);
  runGroupedMatmul(gm, rows, experts, expert_offsets, {combine_ids, combine_weights, tokens, k});
}
