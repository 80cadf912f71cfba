/* A stand-in for a compiled model: y = relu(x @ w) with w = arange(12).reshape(4, 3) / 10,
 * x of shape [n, 4]. It follows docs/runtime-abi.md as moec's output will. */

#include "memref.h"
#include "moec-runtime/model_abi.h"

#include <stdlib.h>

const char moec_model_info[] = "target host\n"
                               "input x float32 n,4\n"
                               "output y float32 n,3\n";

void moec_model_run(void **inputs, void **outputs) {
  const MemRef2DFloat *x = inputs[0];
  MemRef2DFloat *y = outputs[0];
  int64_t n = x->sizes[0];
  float *result = malloc(sizeof(float) * (size_t)(n * 3 + 1));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      float sum = 0;
      for (int64_t k = 0; k < 4; ++k)
        sum +=
            x->aligned[x->offset + i * x->strides[0] + k * x->strides[1]] * (float)(k * 3 + j) / 10;
      result[i * 3 + j] = sum > 0 ? sum : 0;
    }
  }
  y->allocated = y->aligned = result;
  y->offset = 0;
  y->sizes[0] = n;
  y->sizes[1] = 3;
  y->strides[0] = 3;
  y->strides[1] = 1;
}
