/*===- kernels.h - Runtime functions that compiled models call ------------===*\
|*                                                                            *|
|* Plain C ABI: compiled code (LLVM dialect) declares and calls these.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MOEC_RUNTIME_KERNELS_H
#define MOEC_RUNTIME_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of threads in the runtime's pool (the calling thread included). */
int moec_rt_num_threads(void);

/* Splits [0, n) into contiguous chunks, calls body(ctx, begin, end) for each on
 * the pool's threads (the caller included) and returns when all are done.
 * Calls from inside a body run inline. n <= 0 calls nothing. */
void moec_rt_parallel_for(int64_t n, void (*body)(void *ctx, int64_t begin, int64_t end),
                          void *ctx);

/* C = A * B (+ C when accumulate != 0), all row-major f32: A is M x K with
 * leading dimension lda, B is K x N (ldb), C is M x N (ldc). Runs on the pool. */
void moec_rt_sgemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                   int64_t ldb, float *C, int64_t ldc, int accumulate);

/* A run-time check failed (moe.check): `message` names the ONNX node and what does not
 * hold, with "{0}" and "{1}" standing for value0 and value1 ("{{" for "{"). Does not
 * return: the executable prints one line and exits with code 2. */
void moec_rt_check_failed(const char *message, int64_t value0, int64_t value1);

/* Mixture-of-Experts kernels: the kernel-level moe ops (dialects/moe/MoEOps.td), all
 * tensors row-major and contiguous. Enumerations are the moe dialect's: */
enum {
  MOEC_RT_SCORING_SOFTMAX = 0,
  MOEC_RT_SCORING_SIGMOID = 1,
  MOEC_RT_SCORING_SPARSE_MIXER = 2,
  MOEC_RT_SCORING_SQRT_SOFTPLUS = 3,
};
enum {
  MOEC_RT_ACTIVATION_NONE = -1,
  MOEC_RT_ACTIVATION_RELU = 0,
  MOEC_RT_ACTIVATION_GELU = 1,
  MOEC_RT_ACTIVATION_GELU_TANH = 2,
  MOEC_RT_ACTIVATION_SILU = 3,
  MOEC_RT_ACTIVATION_SWIGLU_CLAMPED = 4,
  MOEC_RT_ACTIVATION_SILU_CLAMPED = 5,
  MOEC_RT_ACTIVATION_RELU2 = 6,
};

/* moe.route: logits [tokens, experts] (+ score_bias [experts] for choosing only, may be
 * NULL) to the k best experts of every token, best first (ties toward the lower id), in
 * expert_ids [tokens, k], and their weights [tokens, k], as #moe.routing describes. */
void moec_rt_moe_route_f32(int64_t tokens, int64_t experts, const float *logits,
                           const float *score_bias, int64_t k, int32_t scoring, int32_t renormalize,
                           float renormalize_epsilon, int32_t topk_first, int64_t n_group,
                           int64_t topk_group, int32_t zero_masked_groups,
                           float routed_scaling_factor, float jitter_eps, float *weights,
                           int32_t *expert_ids);

/* moe.route with a router: the tokens input [tokens, hidden] routed as
 * moec_rt_moe_route_f32 routes their logits input @ router_weight^T + router_bias
 * (router_weight [experts, hidden], router_bias [experts] or NULL), which it computes for
 * a few tokens at a time (each logit a dot product over hidden) and never writes out. */
void moec_rt_moe_route_tokens_f32(int64_t tokens, int64_t hidden, int64_t experts,
                                  const float *input, const float *router_weight,
                                  const float *router_bias, const float *score_bias, int64_t k,
                                  int32_t scoring, int32_t renormalize, float renormalize_epsilon,
                                  int32_t topk_first, int64_t n_group, int64_t topk_group,
                                  int32_t zero_masked_groups, float routed_scaling_factor,
                                  float jitter_eps, float *weights, int32_t *expert_ids);

/* moe.permute: the pairs t * k + j of expert_ids [tokens, k] grouped by expert (token
 * order kept) into sorted_ids [slots], each expert's segment padded to a multiple of
 * block_size with tokens * k, and expert_offsets [experts + 1]. Slots past the last
 * segment hold tokens * k too. */
void moec_rt_moe_permute(int64_t tokens, int64_t k, const int32_t *expert_ids, int64_t experts,
                         int64_t block_size, int64_t slots, int32_t *sorted_ids,
                         int32_t *expert_offsets);

/* moe.grouped_matmul: for every expert e, the rows of its segment
 * [expert_offsets[e], expert_offsets[e + 1]) times weights[e] ([K, N]), + bias[e] ([N],
 * bias may be NULL), then the activation (MOEC_RT_ACTIVATION_*; gated: act(gate
 * columns) * up columns, N / 2 result columns). With sorted_ids (may be NULL), row p reads
 * input row sorted_ids[p] / rows_per_token of input [input_rows, K]; ids at or past
 * input_rows * rows_per_token are padding and their result rows are zero. Without it,
 * input is the sorted layout itself, [rows, K]. Result rows past the last segment are
 * zero. result is [rows, N or N / 2]. Runs on the pool.
 * With combine_ids (may be NULL; then combine_weights is unused), the rows are combined
 * as moec_rt_moe_unpermute_f32 combines them, combine_ids [rows] naming each row's pair and
 * combine_weights [tokens, k] weighting the pairs, and result is [tokens, N or N / 2]:
 * each token sums its k rows in order j = 0..k-1, so the result does not depend on the
 * threads and equals the unpermute's bit for bit. */
void moec_rt_moe_grouped_matmul_f32(int64_t rows, int64_t K, int64_t N, int64_t experts,
                                    const float *input, int64_t input_rows,
                                    const int32_t *sorted_ids, int64_t rows_per_token,
                                    const int32_t *expert_offsets, const float *weights,
                                    const float *bias, int32_t activation, int32_t gated,
                                    float alpha, float limit, const int32_t *combine_ids,
                                    const float *combine_weights, int64_t tokens, int64_t k,
                                    float *result);

/* moe.grouped_matmul with quantized weights, as moec_rt_moe_grouped_matmul_f32 otherwise:
 * weights[e][k][n] is (q[e][k][n] - zp[e][g][n]) * scales[e][g][n] with g = k / (K / groups)
 * (scales [experts, groups, N]). bits 8: q is [experts, K, N] bytes. bits 4: q is packed two
 * per byte, [experts, (K + 1) / 2, N], rows 2i and 2i + 1 of a column in the low and high
 * nibble of byte [i][n]. zero_points NULL: q is signed (two's complement) and zp is 0.
 * Otherwise q and zp are unsigned, zp packed as q is along the groups: [experts, groups, N]
 * bytes, or [experts, (groups + 1) / 2, N] with groups 2i and 2i + 1 in the low and high
 * nibble. The weights are expanded in registers (decode) or a block of rows at a time (many
 * rows), never as a whole. */
void moec_rt_moe_grouped_matmul_quantized_f32(int64_t rows, int64_t K, int64_t N, int64_t experts,
                                              const float *input, int64_t input_rows,
                                              const int32_t *sorted_ids, int64_t rows_per_token,
                                              const int32_t *expert_offsets, const int8_t *weights,
                                              int32_t bits, const float *scales, int64_t groups,
                                              const uint8_t *zero_points, const float *bias,
                                              int32_t activation, int32_t gated, float alpha,
                                              float limit, const int32_t *combine_ids,
                                              const float *combine_weights, int64_t tokens,
                                              int64_t k, float *result);

/* moe.grouped_matmul with fp8 weights, as moec_rt_moe_grouped_matmul_f32 otherwise:
 * weights[e][k][n] is e4m3fn(q[e][k][n]) * scales[e][k / (K / row_blocks)][n / (N /
 * column_blocks)], q [experts, K, N] bytes (sign, 4 exponent bits of bias 7, 3 mantissa
 * bits; S.1111.111 is NaN), scales [experts, row_blocks, column_blocks]. Expanded in
 * registers (decode) or a block of rows at a time (many rows). */
void moec_rt_moe_grouped_matmul_fp8_f32(
    int64_t rows, int64_t K, int64_t N, int64_t experts, const float *input, int64_t input_rows,
    const int32_t *sorted_ids, int64_t rows_per_token, const int32_t *expert_offsets,
    const uint8_t *weights, const float *scales, int64_t row_blocks, int64_t column_blocks,
    const float *bias, int32_t activation, int32_t gated, float alpha, float limit,
    const int32_t *combine_ids, const float *combine_weights, int64_t tokens, int64_t k,
    float *result);

/* moe.unpermute: result[t] = sum_j weights[t, j] * expert_out[slot of pair t * k + j in
 * sorted_ids], expert_out [slots, columns], result [tokens, columns]; a pair in no slot
 * adds nothing. */
void moec_rt_moe_unpermute_f32(int64_t tokens, int64_t k, int64_t columns, int64_t slots,
                               const float *expert_out, const int32_t *sorted_ids,
                               const float *weights, float *result);

/* The GPU runtime (lib/runtime/Cuda*.cpp, docs/runtime-abi.md), for targets other than host.
 *
 * A device-readable copy of the constant at host [host, host + bytes) (weights): made on the
 * first call for this address and size, then returned again for the life of the process.
 * Managed memory, kept on the device; host code may read it too. NULL when bytes <= 0. */
void *moec_rt_gpu_constant(const void *host, int64_t bytes);

/* What upstream MLIR's gpu-to-llvm conversion and the LLVM translation of gpu.binary call,
 * with the signatures of mlir/lib/ExecutionEngine/CudaRuntimeWrappers.cpp in LLVM 22
 * (CUmodule, CUfunction, CUstream and CUevent are void * here). Any driver error ends the
 * process with one line on stderr and exit code 2. */
void *mgpuModuleLoad(void *data, size_t gpuBlobSize);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                      intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
                      void *stream, void **params, void **extra, size_t paramsCount);
void mgpuLaunchClusterKernel(void *function, intptr_t clusterX, intptr_t clusterY,
                             intptr_t clusterZ, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ, int32_t smem,
                             void *stream, void **params, void **extra);
void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate(void);
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream);
void mgpuSetDefaultDevice(int32_t device);
// TMA tensor maps (sm_90a kernels): `tensorMap` is a 64-byte-aligned CUtensorMap; the
// enumerations of cuTensorMapEncodeTiled are int-sized. The Memref flavor is what the
// NVGPU lowering of nvgpu.tma.create.descriptor calls: it returns the map's device copy.
void mgpuTensorMapEncodeTiled(void *tensorMap, int dataType, uint32_t rank, void *globalAddress,
                              const uint64_t *globalDims, const uint64_t *globalStrides,
                              const uint32_t *boxDims, const uint32_t *elementStrides,
                              int interleave, int swizzle, int l2Promotion, int oobFill);
void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *memref, int64_t dataType,
                                     int64_t interleave, int64_t swizzle, int64_t l2Promotion,
                                     int64_t oobFill, int64_t *boxDims);

#ifdef __cplusplus
}
#endif

#endif /* MOEC_RUNTIME_KERNELS_H */
