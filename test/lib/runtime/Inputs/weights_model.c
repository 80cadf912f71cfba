/* A stand-in for a compiled model whose weights lie in a file beside it:
 * sum = a + b + w (w: 4 floats from weights-model.bin, broadcast over rows)
 * and a scalar int64 output with characters that are unsafe in file names,
 * the number of elements summed. The weights file holds float32 1, 2, 3, 4;
 * its checksum is the Python reference's moec_checksum64 of those 16 bytes. */

#include "memref.h"
#include "moec-runtime/model_abi.h"

#include <stdlib.h>

const char moec_model_info[] = "target host\n"
                               "input a float32 n,4\n"
                               "input b float32 n,4\n"
                               "output sum float32 n,4\n"
                               "output stats/count:n int64 -\n";

const char moec_weights_file[] = "weights-model.bin";
const uint64_t moec_weights_size = 16;
const uint64_t moec_weights_checksum = 0x632298DB45055727ull;
const void *moec_weights;

void moec_model_run(void **inputs, void **outputs) {
  const MemRef2DFloat *a = inputs[0], *b = inputs[1];
  const float *w = moec_weights;
  MemRef2DFloat *sum = outputs[0];
  MemRef0DInt64 *count = outputs[1];
  int64_t n = a->sizes[0];
  /* An aligned pointer past the allocation's start and a column-major layout:
   * both legal for a memref, so the runtime must cope. */
  float *storage = malloc(sizeof(float) * (size_t)(n * 4 + 3));
  float *data = storage + 3;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < 4; ++j)
      data[j * n + i] = a->aligned[i * 4 + j] + b->aligned[i * 4 + j] + w[j];
  sum->allocated = storage;
  sum->aligned = storage + 1;
  sum->offset = 2;
  sum->sizes[0] = n;
  sum->sizes[1] = 4;
  sum->strides[0] = 1;
  sum->strides[1] = n;

  int64_t *scalar = malloc(sizeof(int64_t));
  *scalar = n * 4;
  count->allocated = count->aligned = scalar;
  count->offset = 0;
}
