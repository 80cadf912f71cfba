//===- TemporaryFile.h - Temporary files that signals remove ----*- C++ -*-===//
//
// moec's temporaries in TMPDIR (the object file, the size of the weights, and the link log)
// are removed when SIGINT, SIGTERM or SIGHUP ends a compile.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_SUPPORT_TEMPORARYFILE_H
#define MOEC_SUPPORT_TEMPORARYFILE_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <system_error>

namespace moec {

/// Creates `PREFIX-XXXXXX.SUFFIX` in the temporary directory, opened for writing as
/// `resultFD`, and has LLVM's signal handlers remove it. Its name is registered before the
/// file is created, so that no signal, on any thread, can leave it behind.
std::error_code createTemporaryFileRemovedOnSignal(llvm::StringRef prefix,
                                                   llvm::StringRef suffix, int &resultFD,
                                                   llvm::SmallVectorImpl<char> &resultPath);

} // namespace moec

#endif // MOEC_SUPPORT_TEMPORARYFILE_H
