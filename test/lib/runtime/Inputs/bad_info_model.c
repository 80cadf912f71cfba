/* A stand-in for a compiled model whose moec_model_info is malformed. */

#include "moec-runtime/model_abi.h"

const char moec_model_info[] = "target host\n"
                               "input x float32 n,4\n"
                               "input x complex64 3\n";

void moec_model_run(void **inputs, void **outputs) {}
