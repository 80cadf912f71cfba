//===- TemporaryFile.cpp - Temporary files that signals remove ------------===//

#include "moec/Support/TemporaryFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Signals.h"

#include <pthread.h>
#include <signal.h>

std::error_code moec::createTemporaryFileRemovedOnSignal(llvm::StringRef prefix,
                                                         llvm::StringRef suffix, int &resultFD,
                                                         llvm::SmallVectorImpl<char> &resultPath) {
  sigset_t held, previous;
  sigemptyset(&held);
  for (int signal : {SIGINT, SIGTERM, SIGHUP})
    sigaddset(&held, signal);
  pthread_sigmask(SIG_BLOCK, &held, &previous);
  std::error_code error =
      llvm::sys::fs::createTemporaryFile(prefix, suffix, resultFD, resultPath);
  if (!error)
    llvm::sys::RemoveFileOnSignal(llvm::StringRef(resultPath.data(), resultPath.size()));
  // A signal that came meanwhile is delivered now, and its handler removes the file.
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return error;
}
