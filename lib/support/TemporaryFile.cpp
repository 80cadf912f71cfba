//===- TemporaryFile.cpp - Temporary files that signals remove ------------===//

#include "moec/Support/TemporaryFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Signals.h"

std::error_code moec::createTemporaryFileRemovedOnSignal(llvm::StringRef prefix,
                                                         llvm::StringRef suffix, int &resultFD,
                                                         llvm::SmallVectorImpl<char> &resultPath) {
  // The name is registered before the file exists. Holding the signals back around creation
  // and registration is not enough: it holds them on this thread only, and a signal sent to
  // the process goes to any of the compile's threads that does not hold it back.
  for (int attempt = 0; attempt < 128; ++attempt) {
    llvm::sys::fs::createUniquePath(prefix + "-%%%%%%." + suffix, resultPath,
                                    /*MakeAbsolute=*/true);
    llvm::StringRef path(resultPath.data(), resultPath.size());
    llvm::sys::RemoveFileOnSignal(path);
    std::error_code error = llvm::sys::fs::openFileForWrite(
        path, resultFD, llvm::sys::fs::CD_CreateNew, llvm::sys::fs::OF_None);
    if (!error)
      return {};
    llvm::sys::DontRemoveFileOnSignal(path);
    if (error != std::errc::file_exists)
      return error;
  }
  return std::make_error_code(std::errc::file_exists);
}
