/* Compiles an ONNX model to a standalone executable through moec's C API.
 * Usage: compile MODEL.onnx OUTPUT */
#include "moec-c/Compile.h"

#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.onnx OUTPUT\n", argv[0]);
    return 1;
  }
  if (moecGetVersion() != MOEC_C_API_VERSION) {
    fprintf(stderr, "libMoECCAPI.so implements C API version %d, not %d\n", moecGetVersion(),
            MOEC_C_API_VERSION);
    return 1;
  }
  MoecCompileOptions *options = moecCompileOptionsCreate();
  const char *error = moecCompileOptionsSet(options, "emit", "exe");
  if (error) {
    fprintf(stderr, "%s\n", error);
    return 1;
  }
  MoecCompileResult *result = moecCompileFile(argv[1], argv[2], options);
  fputs(moecCompileResultGetErrors(result), stderr);
  int status = moecCompileResultGetStatus(result);
  moecCompileResultDestroy(result);
  moecCompileOptionsDestroy(options);
  printf("%s: %s\n", argv[2], status == MOEC_COMPILE_SUCCESS ? "compiled" : "failed");
  return status;
}
