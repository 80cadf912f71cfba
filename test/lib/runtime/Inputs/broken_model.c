/* A stand-in for a compiled model that breaks the output contract in the way
 * its scalar input `mode` selects: 0 returns a shape that contradicts the
 * static one, 1 returns no data, 2 a negative size; 3 behaves. */

#include "memref.h"
#include "moec-runtime/model_abi.h"

#include <stdlib.h>

const char moec_model_info[] = "target host\n"
                               "input mode int32 -\n"
                               "output y float32 2\n";

void moec_model_run(void **inputs, void **outputs) {
  /* A rank-0 descriptor: allocated, aligned, offset. */
  int32_t mode = ((int32_t *const *)inputs[0])[1][0];
  MemRef1DFloat *y = outputs[0];
  float *data = calloc(3, sizeof(float));
  y->allocated = y->aligned = data;
  y->sizes[0] = 2;
  y->strides[0] = 1;
  if (mode == 0)
    y->sizes[0] = 3;
  if (mode == 1) {
    free(data);
    y->allocated = y->aligned = NULL;
  }
  if (mode == 2)
    y->sizes[0] = -1;
}
