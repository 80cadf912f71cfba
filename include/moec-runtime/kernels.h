/*===- kernels.h - Runtime functions that compiled models call ------------===*\
|*                                                                            *|
|* Plain C ABI: compiled code (LLVM dialect) declares and calls these.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MOEC_RUNTIME_KERNELS_H
#define MOEC_RUNTIME_KERNELS_H

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

#ifdef __cplusplus
}
#endif

#endif /* MOEC_RUNTIME_KERNELS_H */
