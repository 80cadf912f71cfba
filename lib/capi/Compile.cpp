//===- Compile.cpp - C API to run moec's whole compile --------------------===//
//
// Each entry point calls moec::compile or setCompileOption and turns what comes back into C
// values. Every one catches whatever C++ exception escapes (out of memory, from the
// standard library) and returns it as an error, so none crosses into C.
//
//===----------------------------------------------------------------------===//

#include "moec-c/Compile.h"

#include "moec/Compiler/Compile.h"
#include "moec/Compiler/Pipeline.h"

#include <exception>
#include <new>
#include <string>
#include <vector>

struct MoecCompileOptions {
  moec::CompileOptions options;
  /// The message moecCompileOptionsSet returned last.
  std::string error;
};

struct MoecCompileResult {
  MoecCompileStatus status;
  std::vector<std::string> diagnostics;
  std::string errors;
};

namespace {

/// What a compile returns when it could not even make a result.
MoecCompileResult outOfMemory{MOEC_COMPILE_UNAVAILABLE, {}, "error: out of memory\n"};

/// Runs `compile`, returning its result as a C result.
template <typename Compile>
MoecCompileResult *toCResult(Compile compile) noexcept {
  try {
    moec::CompileResult result = compile();
    auto *cResult = new MoecCompileResult{static_cast<MoecCompileStatus>(result.status), {},
                                          result.getErrors()};
    for (const moec::CompileDiagnostic &diagnostic : result.diagnostics)
      cResult->diagnostics.push_back(diagnostic.str());
    return cResult;
  } catch (const std::exception &exception) {
    try {
      return new MoecCompileResult{MOEC_COMPILE_UNAVAILABLE,
                                   {},
                                   std::string("error: internal error: ") + exception.what() +
                                       "\n"};
    } catch (...) {
      return &outOfMemory;
    }
  } catch (...) {
    return &outOfMemory;
  }
}

} // namespace

int moecGetVersion(void) { return MOEC_C_API_VERSION; }

const char *moecGetCompilerVersion(void) { return MOEC_VERSION; }

/// The optional passes' names, or none if they cannot be had (out of memory).
static const std::vector<std::string> &getOptionalPassNames() noexcept {
  static const std::vector<std::string> names = []() -> std::vector<std::string> {
    try {
      return moec::getOptionalPassNames();
    } catch (...) {
      return {};
    }
  }();
  return names;
}

size_t moecGetNumOptionalPasses(void) { return getOptionalPassNames().size(); }

const char *moecGetOptionalPassName(size_t index) {
  const std::vector<std::string> &names = getOptionalPassNames();
  return index < names.size() ? names[index].c_str() : nullptr;
}

MoecCompileOptions *moecCompileOptionsCreate(void) {
  return new (std::nothrow) MoecCompileOptions();
}

void moecCompileOptionsDestroy(MoecCompileOptions *options) { delete options; }

const char *moecCompileOptionsSet(MoecCompileOptions *options, const char *name,
                                  const char *value) {
  try {
    options->error = moec::setCompileOption(options->options, name, value);
    return options->error.empty() ? nullptr : options->error.c_str();
  } catch (...) {
    return "out of memory";
  }
}

MoecCompileResult *moecCompileFile(const char *modelPath, const char *outputPath,
                                   const MoecCompileOptions *options) {
  return toCResult([&] {
    return moec::compile(moec::ModelSource::file(modelPath), outputPath, options->options);
  });
}

MoecCompileResult *moecCompileBuffer(const void *data, size_t size, const char *name,
                                     const char *externalDataDir, const char *outputPath,
                                     const MoecCompileOptions *options) {
  return toCResult([&] {
    llvm::StringRef bytes(static_cast<const char *>(data), size);
    return moec::compile(moec::ModelSource::onnxBytes(bytes, name ? name : "model.onnx",
                                                      externalDataDir ? externalDataDir : "."),
                         outputPath, options->options);
  });
}

MoecCompileStatus moecCompileResultGetStatus(const MoecCompileResult *result) {
  return result->status;
}

size_t moecCompileResultGetNumDiagnostics(const MoecCompileResult *result) {
  return result->diagnostics.size();
}

const char *moecCompileResultGetDiagnostic(const MoecCompileResult *result, size_t index) {
  return index < result->diagnostics.size() ? result->diagnostics[index].c_str() : nullptr;
}

const char *moecCompileResultGetErrors(const MoecCompileResult *result) {
  return result->errors.c_str();
}

void moecCompileResultDestroy(MoecCompileResult *result) {
  if (result != &outOfMemory)
    delete result;
}
