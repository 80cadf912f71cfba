/* The memref descriptors the stand-in models use (docs/runtime-abi.md). */

#ifndef MOEC_TEST_RUNTIME_MEMREF_H
#define MOEC_TEST_RUNTIME_MEMREF_H

#include <stdint.h>

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} MemRef1DFloat;

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} MemRef2DFloat;

typedef struct {
  int64_t *allocated;
  int64_t *aligned;
  int64_t offset;
} MemRef0DInt64;

#endif /* MOEC_TEST_RUNTIME_MEMREF_H */
