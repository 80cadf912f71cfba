/* A C program that compiles an ONNX model through moec's C API: from its path to an
 * executable, and from its bytes in memory to a shared library. Each option it sets and
 * each compile prints one line; errors are printed from the messages the API returns.
 * Usage: compile_model MODEL.onnx OUTPUT_DIR */
#include "moec-c/Compile.h"

#include <stdio.h>
#include <stdlib.h>

/* Prints the result's diagnostics and status; returns the status. */
static int report(const char *what, MoecCompileResult *result) {
  for (size_t i = 0; i < moecCompileResultGetNumDiagnostics(result); ++i)
    printf("%s: %s\n", what, moecCompileResultGetDiagnostic(result, i));
  int status = moecCompileResultGetStatus(result);
  printf("%s: status %d\n", what, status);
  moecCompileResultDestroy(result);
  return status;
}

static void set(MoecCompileOptions *options, const char *name, const char *value) {
  const char *error = moecCompileOptionsSet(options, name, value);
  printf("set %s=%s: %s\n", name, value, error ? error : "ok");
}

/* The whole file at `path`, or NULL. */
static char *readFile(const char *path, size_t *size) {
  FILE *file = fopen(path, "rb");
  if (!file)
    return NULL;
  fseek(file, 0, SEEK_END);
  *size = (size_t)ftell(file);
  fseek(file, 0, SEEK_SET);
  char *bytes = malloc(*size);
  if (bytes && fread(bytes, 1, *size, file) != *size) {
    free(bytes);
    bytes = NULL;
  }
  fclose(file);
  return bytes;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 1;
  if (moecGetVersion() != MOEC_C_API_VERSION) {
    printf("library API version %d, header %d\n", moecGetVersion(), MOEC_C_API_VERSION);
    return 1;
  }
  printf("moec %s, C API version %d\n", moecGetCompilerVersion(), moecGetVersion());
  for (size_t i = 0; i < moecGetNumOptionalPasses(); ++i)
    printf("optional pass: %s\n", moecGetOptionalPassName(i));
  const char *pastTheLast = moecGetOptionalPassName(moecGetNumOptionalPasses());
  printf("past the last: %s\n", pastTheLast ? pastTheLast : "NULL");
  char exe[4096], lib[4096];
  snprintf(exe, sizeof exe, "%s/model", argv[2]);
  snprintf(lib, sizeof lib, "%s/model.so", argv[2]);

  MoecCompileOptions *options = moecCompileOptionsCreate();
  set(options, "target", "host");
  set(options, "target", "tpu");
  set(options, "colour", "blue");
  report("file", moecCompileFile(argv[1], exe, options));

  size_t size;
  char *bytes = readFile(argv[1], &size);
  if (!bytes)
    return 1;
  set(options, "emit", "lib");
  report("buffer", moecCompileBuffer(bytes, size, "in-memory.onnx", NULL, lib, options));
  /* Half a model is bad input, with the error on the name given. */
  report("truncated", moecCompileBuffer(bytes, size / 2, "in-memory.onnx", NULL, lib, options));
  free(bytes);

  set(options, "quantize-scheme", "asymmetric");
  MoecCompileResult *result = moecCompileFile(argv[1], exe, options);
  printf("errors: %s", moecCompileResultGetErrors(result));
  report("quantized", result);
  moecCompileOptionsDestroy(options);
  return 0;
}
