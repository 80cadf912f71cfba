/*===- model_abi.h - The symbols a compiled model shares with the runtime -===*\
|*                                                                            *|
|* moec compiles a model to an object file that defines the symbols below;    *|
|* the runtime (lib/runtime) defines main() or the shared-library C API       *|
|* around them. docs/runtime-abi.md is the precise contract.                  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MOEC_RUNTIME_MODEL_ABI_H
#define MOEC_RUNTIME_MODEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* NUL-terminated text, one record per line:
 *   target <name>
 *   input <name> <dtype> <dims>      (in positional order)
 *   output <name> <dtype> <dims>     (in positional order)
 * <dims> is `-` for a scalar, else comma-separated entries, each a non-negative
 * integer (static), a dim_param name (dynamic, bound consistently across
 * inputs) or `?` (dynamic, unnamed). */
extern const char moec_model_info[];

/* Runs the model once. inputs[i] points to the ranked memref descriptor of
 * input i; outputs[i] points to storage for output i's descriptor (3 + 2 * rank
 * int64-sized words) that the callee fills. Each output's `allocated` pointer
 * is a fresh malloc/aligned_alloc allocation that the caller frees. */
void moec_model_run(void **inputs, void **outputs);

/* Optional, for weights stored beside the executable (the runtime sees them
 * through weak references): the file name relative to the directory of the
 * executable (or shared library), its size and moec_checksum64, and the
 * pointer the runtime sets to the file's read-only mapping before any run. */
extern const char moec_weights_file[];
extern const uint64_t moec_weights_size;
extern const uint64_t moec_weights_checksum;
extern const void *moec_weights;

/* Optional, programs compiled with --shard-experts=N (docs/sharding.md): the
 * ranks of the MPI job, and the moec_checksum64 of each rank's weights file. Rank
 * R maps moec_weights_file with ".rank<R>" put before its ".weights" (each rank's
 * file holds its own experts; all have moec_weights_size bytes), after
 * moec_rt_comm_init (include/moec-runtime/comm.h) has started MPI. */
extern const int64_t moec_shard_ranks;
extern const uint64_t moec_shard_weights_checksums[];

/* Optional, GPU targets: why a run cannot be captured into a CUDA graph and
 * replayed ("" when it can: no mid-run wait, no managed buffer, no host read of
 * an input's elements). Without it the runtime never captures. */
extern const char moec_gpu_graph_blocker[];

/* A memref descriptor of rank R, as MLIR's LLVM lowering lays it out:
 *   struct { T *allocated; T *aligned; int64_t offset;
 *            int64_t sizes[R]; int64_t strides[R]; };
 * i.e. 3 + 2 * R eight-byte words on x86-64. */
#define MOEC_MEMREF_WORDS(rank) (3 + 2 * (rank))

#ifdef __cplusplus
}
#endif

#endif /* MOEC_RUNTIME_MODEL_ABI_H */
