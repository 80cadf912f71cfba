/* Uses a model built as a shared library (--emit=lib) through moec_model.h:
 * prints what the model describes, then runs it on x = [[1, -1, 2, 0]] and
 * prints the output, or the error of a run with a wrong shape. */

#include "moec-runtime/moec_model.h"

#include <stdio.h>

int main(void) {
  moec_model *model;
  if (moec_model_create(1, &model) != MOEC_OK) {
    fprintf(stderr, "create: %s\n", moec_last_error());
    return 1;
  }
  printf("target %s\n", moec_model_target(model));
  for (int io = MOEC_INPUT; io <= MOEC_OUTPUT; ++io) {
    for (size_t i = 0; i < moec_model_count(model, (moec_io)io); ++i) {
      printf("%s %s %s", io == MOEC_INPUT ? "input" : "output",
             moec_model_name(model, (moec_io)io, i),
             moec_dtype_name(moec_model_dtype(model, (moec_io)io, i)));
      for (int64_t d = 0; d < moec_model_rank(model, (moec_io)io, i); ++d) {
        const char *name = moec_model_dim_name(model, (moec_io)io, i, d);
        if (name)
          printf(" %s", name);
        else
          printf(" %lld", (long long)moec_model_dim(model, (moec_io)io, i, d));
      }
      printf("\n");
    }
  }

  float x[] = {1, -1, 2, 0};
  int64_t shape[] = {1, 4};
  moec_tensor input = {MOEC_FLOAT32, 2, shape, x};
  moec_tensor output;
  if (moec_model_execute(model, &input, 1, &output, 1) != MOEC_OK) {
    fprintf(stderr, "execute: %s\n", moec_last_error());
    return 1;
  }
  const float *y = output.data;
  printf("y [%lld, %lld] = %.2f %.2f %.2f\n", (long long)output.shape[0],
         (long long)output.shape[1], y[0], y[1], y[2]);
  moec_tensor_release(&output);

  int64_t wrongShape[] = {1, 3};
  input.shape = wrongShape;
  moec_status status = moec_model_execute(model, &input, 1, &output, 1);
  printf("wrong shape: status %d: %s\n", (int)status, moec_last_error());
  moec_model_destroy(model);
  return 0;
}
