//===- RuntimeLinking.cpp - Link compiled models with moec's runtime ------===//

#include "moec/Codegen/Emit/Emission.h"
#include "moec/Support/TemporaryFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Signals.h"

#include <dlfcn.h>
#include <unistd.h>

using namespace llvm;

std::string moec::getDefaultRuntimeLibraryDir() {
  // The binary that holds this code: a library (the C API, the Python extension) loaded
  // into another program, whose main executable says nothing, or else the main executable
  // (the moec tool), for which the loader may give the name it was started as.
  Dl_info info;
  static int anchor;
  std::string binary = dladdr(&anchor, &info) && info.dli_fname &&
                               sys::path::is_absolute(info.dli_fname)
                           ? std::string(info.dli_fname)
                           : sys::fs::getMainExecutable(nullptr, &anchor);
  SmallString<256> dir(sys::path::parent_path(sys::path::parent_path(binary)));
  sys::path::append(dir, "lib");
  return std::string(dir);
}

/// The C compiler driver that links: clang-22 (which built moec), else cc.
static ErrorOr<std::string> findLinkerDriver() {
  for (StringRef name : {"clang-22", "clang", "cc"})
    if (ErrorOr<std::string> path = sys::findProgramByName(name))
      return path;
  return std::make_error_code(std::errc::no_such_file_or_directory);
}

bool moec::linkWithRuntime(StringRef objectPath, StringRef outputPath, LinkedArtifact artifact,
                           StringRef runtimeLibraryDir, std::string &error,
                           bool expertParallel) {
  ErrorOr<std::string> driver = findLinkerDriver();
  if (!driver) {
    error = "no C compiler to link with (looked for clang-22, clang and cc on PATH)";
    return false;
  }
  auto libraryFile = [&](StringRef name) {
    SmallString<256> path(runtimeLibraryDir);
    sys::path::append(path, name);
    return std::string(path);
  };
  std::string runtime = libraryFile("libmoec_runtime.a");
  std::string runtimeMain = libraryFile("libmoec_runtime_main.a");
  std::string exportList = libraryFile("moec_model.map");
  bool shared = artifact == LinkedArtifact::SharedLibrary;
  for (const std::string &file : {runtime, shared ? exportList : runtimeMain}) {
    if (!sys::fs::exists(file)) {
      error = "moec's runtime is missing: " + file;
      return false;
    }
  }

  // docs/runtime-abi.md: an executable takes main() from its own archive; a shared library
  // keeps the whole runtime, whose C API nothing inside the library references, and
  // exports only that API.
  std::string versionScript = "-Wl,--version-script=" + exportList;
  SmallVector<StringRef> args = {*driver, objectPath, "-o", outputPath};
  std::string comm = libraryFile("libmoec_runtime_comm.a");
  if (expertParallel) {
#ifdef MOEC_MPI_C_LIBRARIES
    if (!sys::fs::exists(comm)) {
      error = "moec's runtime is missing: " + comm;
      return false;
    }
    // Before the runtime, which it calls into.
    args.append({comm, MOEC_MPI_C_LIBRARIES});
#else
    error = "this moec was built without Open MPI, which --shard-experts runs on "
            "(scripts/setup.sh installs it)";
    return false;
#endif
  }
  if (shared)
    args.append({"-shared", "-Wl,--whole-archive", runtime, "-Wl,--no-whole-archive",
                 versionScript});
  else
    args.append({runtimeMain, runtime});
  args.append({"-lstdc++", "-lm", "-lpthread", "-ldl"});
#ifdef MOEC_SANITIZER_LINK_FLAGS
  // This moec was built with MOEC_SANITIZE, and so was its runtime; a shared library takes
  // the sanitizers' runtime from the (sanitized) program that loads it.
  args.push_back(MOEC_SANITIZER_LINK_FLAGS);
#endif

  SmallString<256> linkLog;
  int linkLogFD;
  if (std::error_code ec =
          moec::createTemporaryFileRemovedOnSignal("moec-link", "log", linkLogFD, linkLog)) {
    error = "cannot create a temporary file: " + ec.message();
    return false;
  }
  ::close(linkLogFD);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(linkLog), StringRef(linkLog)};
  std::string execError;
  int status = sys::ExecuteAndWait(*driver, args, std::nullopt, redirects, /*SecondsToWait=*/0,
                                   /*MemoryLimit=*/0, &execError);
  std::string linkerOutput;
  if (auto buffer = MemoryBuffer::getFile(linkLog))
    linkerOutput = (*buffer)->getBuffer().trim().str();
  sys::fs::remove(linkLog);
  sys::DontRemoveFileOnSignal(linkLog);
  if (status == 0)
    return true;
  error = "linking failed (" + *driver + ")";
  if (!execError.empty())
    error += ": " + execError;
  if (!linkerOutput.empty())
    error += ": " + linkerOutput;
  return false;
}
