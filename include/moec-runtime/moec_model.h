/*===- moec_model.h - C API of a model compiled with --emit=lib -----------===*\
|*                                                                            *|
|* A shared library that moec emits exports these functions. Errors are       *|
|* status codes; moec_last_error() tells the reason in words.                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MOEC_RUNTIME_MOEC_MODEL_H
#define MOEC_RUNTIME_MOEC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum moec_status {
  MOEC_OK = 0,
  /* Wrong arguments: dtype, shape, count, a null pointer, an index. */
  MOEC_ERROR_INVALID_ARGUMENT = 1,
  /* The weights file is missing, has the wrong size or the wrong checksum. */
  MOEC_ERROR_WEIGHTS = 2,
  /* The compiled model broke its contract (e.g. malformed model info). */
  MOEC_ERROR_INTERNAL = 3,
  /* A model compiled for a GPU cannot start: no NVIDIA driver, or no device. */
  MOEC_ERROR_DEVICE = 4,
} moec_status;

typedef enum moec_dtype {
  MOEC_FLOAT32 = 0,
  MOEC_FLOAT16 = 1,
  MOEC_BFLOAT16 = 2,
  MOEC_FLOAT64 = 3,
  MOEC_INT8 = 4,
  MOEC_INT16 = 5,
  MOEC_INT32 = 6,
  MOEC_INT64 = 7,
  MOEC_UINT8 = 8,
  MOEC_UINT16 = 9,
  MOEC_UINT32 = 10,
  MOEC_UINT64 = 11,
  MOEC_BOOL = 12,
} moec_dtype;

typedef enum moec_io { MOEC_INPUT = 0, MOEC_OUTPUT = 1 } moec_io;

/* A dense row-major tensor. For inputs the caller owns everything. Outputs are
 * filled by moec_model_execute and released with moec_tensor_release. */
typedef struct moec_tensor {
  int32_t dtype; /* a moec_dtype; a fixed-size field keeps the layout certain */
  int64_t rank;
  int64_t *shape;
  void *data;
} moec_tensor;

typedef struct moec_model moec_model;

/* The reason for the last failed call on this thread ("" if none). */
const char *moec_last_error(void);

/* "float32", "int64", ... for a moec_dtype value; NULL for any other. */
const char *moec_dtype_name(int dtype);

/* Loads the model (and maps its weights file, if it has one; for a GPU target,
 * opens the CUDA driver and device 0: MOEC_ERROR_DEVICE when it cannot; a
 * driver error in a later run ends the process, see docs/runtime-abi.md). num_threads > 0
 * sets the size of the process-wide thread pool; 0 keeps the default (one per
 * CPU). */
moec_status moec_model_create(int num_threads, moec_model **model);
void moec_model_destroy(moec_model *model);

const char *moec_model_target(const moec_model *model);
size_t moec_model_count(const moec_model *model, moec_io io);
/* The queries below return NULL / -1 for an index out of range. */
const char *moec_model_name(const moec_model *model, moec_io io, size_t index);
int moec_model_dtype(const moec_model *model, moec_io io, size_t index);
int64_t moec_model_rank(const moec_model *model, moec_io io, size_t index);
/* The size of a static dimension, -1 for a dynamic one. */
int64_t moec_model_dim(const moec_model *model, moec_io io, size_t index, int64_t dim);
/* The dim_param name of a dynamic dimension; "?" when unnamed; NULL if static. */
const char *moec_model_dim_name(const moec_model *model, moec_io io, size_t index, int64_t dim);

/* Runs the model once. inputs: num_inputs tensors in the model's input order,
 * checked like the executable checks its .npy files. outputs: num_outputs
 * structs that receive fresh tensors (release each with moec_tensor_release).
 * Safe to call from several threads; runs are serialized. */
moec_status moec_model_execute(moec_model *model, const moec_tensor *inputs, size_t num_inputs,
                               moec_tensor *outputs, size_t num_outputs);

/* Frees an output's data and shape and zeroes the struct. */
void moec_tensor_release(moec_tensor *tensor);

#ifdef __cplusplus
}
#endif

#endif /* MOEC_RUNTIME_MOEC_MODEL_H */
