/*===- moec-c/Compile.h - C API to run moec's whole compile ---------------===*\
|*                                                                            *|
|* Compiles an ONNX model (a file or bytes in memory) or a .mlir file to an   *|
|* executable, a shared library, an object file, PTX or MLIR, in-process: the *|
|* same compile as the moec command line (lib/compiler, moec::compile). Link  *|
|* libMoECCAPI.so. docs/embedding.md has a complete example.                  *|
|*                                                                            *|
|* Errors are values: a setter returns a message, a compile returns a result  *|
|* holding its status and diagnostics. No C++ exception crosses this API.     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MOEC_C_COMPILE_H
#define MOEC_C_COMPILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this API. It changes whenever a declaration here changes in a way
 * that breaks programs built against an earlier one. */
#define MOEC_C_API_VERSION 1

/* The MOEC_C_API_VERSION that the loaded library implements: a program compares it with
 * the header's it was built with. */
int moecGetVersion(void);

/* moec's own version, e.g. "0.1.0". */
const char *moecGetCompilerVersion(void);

/* The optional passes in the order they run: the names that the option "disable-pass"
 * takes, for ablations. A name is NULL for an index out of range; names live as long as
 * the library. */
size_t moecGetNumOptionalPasses(void);
const char *moecGetOptionalPassName(size_t index);

/* How a compile ended; the values are moec's exit codes. */
typedef enum MoecCompileStatus {
  MOEC_COMPILE_SUCCESS = 0,
  /* Something this build or machine cannot do: a toolkit missing, a failed link, options
   * that do not go together, a feature not in this build. */
  MOEC_COMPILE_UNAVAILABLE = 1,
  /* Bad input: the model, or an output that cannot be written. */
  MOEC_COMPILE_BAD_INPUT = 2,
} MoecCompileStatus;

typedef struct MoecCompileOptions MoecCompileOptions;
typedef struct MoecCompileResult MoecCompileResult;

/* Options as `moec` takes them by default: --target=host --emit=exe. NULL when out of
 * memory. */
MoecCompileOptions *moecCompileOptionsCreate(void);
void moecCompileOptionsDestroy(MoecCompileOptions *options);

/* Sets the option that the moec command line spells --NAME=VALUE (see `moec --help` and
 * docs/moec.md): target, emit, stop-after, quantize, quantize-group, quantize-scheme,
 * quantize-config, report, precision, gpu-binary, shard-experts, weights-file-over, infer-shapes;
 * disable-pass adds one name each call. Returns NULL on success, else a one-line message, valid
 * until the next call on `options`. */
const char *moecCompileOptionsSet(MoecCompileOptions *options, const char *name,
                                  const char *value);

/* Compiles the model at `modelPath` (.onnx or .mlir) to `outputPath`. Never NULL. */
MoecCompileResult *moecCompileFile(const char *modelPath, const char *outputPath,
                                   const MoecCompileOptions *options);

/* Compiles a serialized ONNX model of `size` bytes at `data` to `outputPath`. `name`
 * names it in diagnostics (NULL: "model.onnx"); its external data, if any, is looked up
 * in `externalDataDir` (NULL: the current directory). Never NULL. */
MoecCompileResult *moecCompileBuffer(const void *data, size_t size, const char *name,
                                     const char *externalDataDir, const char *outputPath,
                                     const MoecCompileOptions *options);

MoecCompileStatus moecCompileResultGetStatus(const MoecCompileResult *result);

/* The diagnostics in the order they came, each one line: "error: FILE: MESSAGE" (or
 * warning, note, remark). The strings live as long as the result. */
size_t moecCompileResultGetNumDiagnostics(const MoecCompileResult *result);
const char *moecCompileResultGetDiagnostic(const MoecCompileResult *result, size_t index);

/* The error diagnostics, one a line ("" after a success). */
const char *moecCompileResultGetErrors(const MoecCompileResult *result);

void moecCompileResultDestroy(MoecCompileResult *result);

#ifdef __cplusplus
}
#endif

#endif /* MOEC_C_COMPILE_H */
