/* Uses the GPU stand-in model (gpu_double_model.mlir) built as a shared library
 * through moec_model.h: runs it three times, on x = [1, 2, 3, 4], then
 * [5, 6, 7, 8], then [9, 10, 11, 12] (the second run is captured into a CUDA
 * graph and the third replays it), and prints each y, or the status and
 * message of the failure. */

#include "moec-runtime/moec_model.h"

#include <stdio.h>

int main(void) {
  moec_model *model;
  moec_status status = moec_model_create(1, &model);
  if (status != MOEC_OK) {
    printf("create: status %d: %s\n", (int)status, moec_last_error());
    return 1;
  }
  for (int run = 0; run < 3; ++run) {
    float x[4];
    for (int i = 0; i < 4; ++i)
      x[i] = (float)(4 * run + i + 1);
    int64_t shape[] = {4};
    moec_tensor input = {MOEC_FLOAT32, 1, shape, x};
    moec_tensor output;
    status = moec_model_execute(model, &input, 1, &output, 1);
    if (status != MOEC_OK) {
      printf("execute: status %d: %s\n", (int)status, moec_last_error());
      return 1;
    }
    const float *y = output.data;
    printf("y = %g %g %g %g\n", y[0], y[1], y[2], y[3]);
    moec_tensor_release(&output);
  }
  moec_model_destroy(model);
  return 0;
}
