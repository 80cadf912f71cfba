//===- Memory.h - Keeping large weights out of resident memory ---*- C++ -*-===//
//
// Weights can take gigabytes: moec reads them once (to write the weights file, or to
// rearrange them into moe's layout) and hands their pages back to the kernel once done, so
// that its resident memory stays far below the weights' size.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_SUPPORT_MEMORY_H
#define MOEC_SUPPORT_MEMORY_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"

#include <memory>

namespace moec {

/// Drops the pages of `bytes` (and of the rest of the pages they touch) from moec's
/// resident memory without losing their contents: a file mapping reads them again from the
/// file when next touched. Linux honours it (MADV_PAGEOUT) for files that the user owns or
/// may write; elsewhere it is a hint without effect.
void releasePages(llvm::ArrayRef<char> bytes);

/// A temporary file that holds a large array while it is built piece by piece, so that its
/// bytes live in the page cache (written back to disk and dropped under memory pressure)
/// rather than on moec's heap. The file is unlinked as soon as it is created, so nothing is
/// left behind whatever happens; once written, `map` hands it over read-only. Ranges never
/// written (and all-zero ones, which `write` skips) stay holes that read as zeros.
class ScratchFile {
public:
  /// A file of `size` bytes of zeros in the system's temporary directory (`TMPDIR`).
  static llvm::Expected<ScratchFile> create(uint64_t size);

  ScratchFile(ScratchFile &&other) noexcept;
  ScratchFile &operator=(ScratchFile &&) = delete;
  ~ScratchFile();

  /// Writes `bytes` at `offset`, unless they are all zeros.
  llvm::Error write(uint64_t offset, llvm::ArrayRef<char> bytes);

  /// The whole file, mapped read-only; the mapping outlives this object.
  llvm::Expected<std::shared_ptr<llvm::sys::fs::mapped_file_region>> map();

private:
  ScratchFile(int fd, uint64_t size) : fd(fd), size(size) {}

  int fd;
  uint64_t size;
};

} // namespace moec

#endif // MOEC_SUPPORT_MEMORY_H
