/*===- comm.h - Expert parallelism between processes, on MPI --------------===*
 *
 * What a program compiled with --shard-experts=N calls (docs/sharding.md), in
 * libmoec_runtime_comm.a, which links Open MPI: the ranks are MPI processes
 * (`mpirun -np N PROGRAM ...`), each with its own tokens, and each holding the
 * weights of its own experts only. The exchanges are MPI's (MPI_Alltoall for the
 * counts, MPI_Alltoallv for the rows), never a transport of moec's own.
 *
 * Errors are one line on stderr, on every rank that meets them, and exit code 2. A rank
 * that fails alone (a bad input, a failed check) ends the whole job through
 * moec_rt_comm_abort, and every other rank says in one line that it was stopped; an
 * exchange that does not finish within MOEC_EXCHANGE_TIMEOUT seconds (default 600: a rank
 * that hangs or died) ends it the same way, so that no rank waits for ever.
 *
 *===----------------------------------------------------------------------===*/

#ifndef MOEC_RUNTIME_COMM_H
#define MOEC_RUNTIME_COMM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts MPI (once per process; finalized at exit) and checks that the world has
 * `ranks` processes: otherwise every rank says so and exits with code 2. Returns this
 * process's rank. */
int64_t moec_rt_comm_init(int64_t ranks);

/* Ends the whole job after this rank's own error (already printed), with exit code
 * `code`: mpirun stops the other ranks, each of which prints one line saying so and
 * exits with code 2. Returns, doing nothing, where MPI is not running. */
void moec_rt_comm_abort(int code);

/* How moec_rt_moe_expert_parallel_f32 reads a projection's weights: f32; int8 bytes, or
 * int4 codes packed two per byte, with scales (and zero points, unsigned) as
 * moec_rt_moe_grouped_matmul_quantized_f32 reads them; fp8 (e4m3) with block scales as
 * moec_rt_moe_grouped_matmul_fp8_f32 reads them. */
enum {
  MOEC_RT_WEIGHTS_F32 = 0,
  MOEC_RT_WEIGHTS_INT8 = 1,
  MOEC_RT_WEIGHTS_INT4 = 2,
  MOEC_RT_WEIGHTS_FP8 = 3,
};

/* The routed experts of one MoE layer, expert parallel: every rank calls it with its own
 * `tokens` rows of input [tokens, hidden] and their routing, expert_ids and weights
 * [tokens, k]. Expert e lives on rank expert_rank[e] as slot expert_slot[e] of that rank's
 * stacks (expert_rank[e] = -1: on every rank, at that slot; its pairs stay local), an MLP
 * of two projections with the activation (MOEC_RT_ACTIVATION_*, gated or not) of
 * moec_rt_moe_grouped_matmul_f32: up [local_experts, hidden, up_columns] and down
 * [local_experts, inner, hidden], each given by its weights in `format`
 * (MOEC_RT_WEIGHTS_*), and, quantized, its scales ([local_experts, groups, columns], fp8
 * [local_experts, groups, column_blocks]) and zero points (NULL: signed codes), and its bias
 * ([local_experts, columns], may be NULL). Every pair (t, j) goes to its expert's rank with
 * its slot, the expert's output row comes back, and
 *   result[t] = sum_j weights[t, j] * expert_{expert_ids[t, j]}(input[t]),
 * summed in j order as moec_rt_moe_unpermute_f32 sums. result is [tokens, hidden]. */
void moec_rt_moe_expert_parallel_f32(
    int64_t tokens, int64_t hidden, int64_t k, const float *input, const int32_t *expert_ids,
    const float *weights, int64_t experts, const int32_t *expert_rank, const int32_t *expert_slot,
    int64_t local_experts, int64_t up_columns, int64_t inner, const void *up_weight,
    int32_t up_format, const float *up_scales, int64_t up_groups, int64_t up_column_blocks,
    const uint8_t *up_zero_points, const float *up_bias, const void *down_weight,
    int32_t down_format, const float *down_scales, int64_t down_groups, int64_t down_column_blocks,
    const uint8_t *down_zero_points, const float *down_bias, int32_t activation, int32_t gated,
    float alpha, float limit, float *result);

#ifdef __cplusplus
}
#endif

#endif /* MOEC_RUNTIME_COMM_H */
