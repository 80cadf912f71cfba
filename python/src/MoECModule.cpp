//===- MoECModule.cpp - moec._moec, the Python extension over moec::compile ===//
//
// The compile as the C++ API runs it; python/moec/__init__.py builds the Python API on it.
// The GIL is released while a model compiles.
//
//===----------------------------------------------------------------------===//

#include "moec/Compiler/Compile.h"
#include "moec/Compiler/Pipeline.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <utility>
#include <vector>

namespace nb = nanobind;

namespace {

/// Options as the command line spells them, each a (name, value) pair.
using FlagList = std::vector<std::pair<std::string, std::string>>;

/// The status (moec's exit code) and the diagnostics, one line each.
using Outcome = std::pair<int, std::vector<std::string>>;

/// Compiles `source` with `flags`; a bad flag is an Unavailable outcome with its message.
Outcome compile(const moec::ModelSource &source, const std::string &outputPath,
                const FlagList &flags, const std::string &runtimeLibraryDir) {
  moec::CompileOptions options;
  options.runtimeLibraryDir = runtimeLibraryDir;
  for (const auto &[name, value] : flags) {
    std::string error = moec::setCompileOption(options, name, value);
    if (!error.empty())
      return {static_cast<int>(moec::CompileStatus::Unavailable), {"error: " + error}};
  }
  moec::CompileResult result;
  {
    nb::gil_scoped_release release;
    result = moec::compile(source, outputPath, options);
  }
  std::vector<std::string> lines;
  for (const moec::CompileDiagnostic &diagnostic : result.diagnostics)
    lines.push_back(diagnostic.str());
  return {static_cast<int>(result.status), std::move(lines)};
}

} // namespace

NB_MODULE(_moec, m) {
  m.doc() = "moec's compiler in-process (use the moec package, not this module)";
  m.def(
      "compile_file",
      [](const std::string &path, const std::string &outputPath, const FlagList &flags,
         const std::string &runtimeLibraryDir) {
        return compile(moec::ModelSource::file(path), outputPath, flags, runtimeLibraryDir);
      },
      nb::arg("path"), nb::arg("output_path"), nb::arg("flags"), nb::arg("runtime_library_dir"),
      "Compiles the .onnx or .mlir file at `path`; returns (status, diagnostics).");
  m.def(
      "compile_bytes",
      [](nb::bytes bytes, const std::string &name, const std::string &externalDataDir,
         const std::string &outputPath, const FlagList &flags,
         const std::string &runtimeLibraryDir) {
        // The bytes object is kept alive by the caller for the whole call.
        llvm::StringRef data(bytes.c_str(), bytes.size());
        return compile(moec::ModelSource::onnxBytes(data, name, externalDataDir), outputPath,
                       flags, runtimeLibraryDir);
      },
      nb::arg("data"), nb::arg("name"), nb::arg("external_data_dir"), nb::arg("output_path"),
      nb::arg("flags"), nb::arg("runtime_library_dir"),
      "Compiles a serialized ONNX model; returns (status, diagnostics).");
  m.def("optional_passes", &moec::getOptionalPassNames,
        "The passes that disable_passes accepts, in the order they run.");
  m.attr("version") = MOEC_VERSION;
}
