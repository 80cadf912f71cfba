//===- Memory.cpp - Keeping large weights out of resident memory ----------===//

#include "moec/Support/Memory.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Process.h"

#include <cerrno>
#include <unistd.h>

#if defined(__linux__)
#include <sys/mman.h>
#endif

void moec::releasePages(llvm::ArrayRef<char> bytes) {
#if defined(__linux__) && defined(MADV_PAGEOUT)
  if (bytes.empty())
    return;
  // MADV_PAGEOUT never loses data, whatever the memory is (a file mapping, or the heap of
  // a weight a pass computed), so nothing needs to know where a blob's data came from.
  uintptr_t pageSize = llvm::sys::Process::getPageSizeEstimate();
  uintptr_t begin = llvm::alignDown(reinterpret_cast<uintptr_t>(bytes.data()), pageSize);
  uintptr_t end = llvm::alignTo(reinterpret_cast<uintptr_t>(bytes.data() + bytes.size()), pageSize);
  // A failure only means the pages stay resident.
  (void)::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_PAGEOUT);
#else
  (void)bytes;
#endif
}

llvm::Expected<moec::ScratchFile> moec::ScratchFile::create(uint64_t size) {
  int fd;
  llvm::SmallString<128> path;
  if (std::error_code error = llvm::sys::fs::createTemporaryFile("moec-weights", "bin", fd, path))
    return llvm::createStringError(error, "cannot create a temporary file: %s",
                                   error.message().c_str());
  ScratchFile file(fd, size);
  // Unlinked at once: the open descriptor (and later the mapping) keeps the data.
  if (std::error_code error = llvm::sys::fs::remove(path))
    return llvm::createStringError(error, "cannot unlink the temporary file '%s': %s",
                                   path.c_str(), error.message().c_str());
  if (std::error_code error = llvm::sys::fs::resize_file_sparse(fd, size))
    return llvm::createStringError(error, "cannot grow the temporary file to %llu bytes: %s",
                                   static_cast<unsigned long long>(size),
                                   error.message().c_str());
  return std::move(file);
}

moec::ScratchFile::ScratchFile(ScratchFile &&other) noexcept : fd(other.fd), size(other.size) {
  other.fd = -1;
}

moec::ScratchFile::~ScratchFile() {
  if (fd >= 0)
    (void)llvm::sys::Process::SafelyCloseFileDescriptor(fd);
}

llvm::Error moec::ScratchFile::write(uint64_t offset, llvm::ArrayRef<char> bytes) {
  if (llvm::all_of(bytes, [](char byte) { return byte == 0; }))
    return llvm::Error::success();
  while (!bytes.empty()) {
    ssize_t written = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0) {
      std::error_code error(written < 0 ? errno : ENOSPC, std::generic_category());
      return llvm::createStringError(error, "cannot write the temporary file: %s",
                                     error.message().c_str());
    }
    bytes = bytes.drop_front(written);
    offset += written;
  }
  return llvm::Error::success();
}

llvm::Expected<std::shared_ptr<llvm::sys::fs::mapped_file_region>> moec::ScratchFile::map() {
  std::error_code error;
  auto region = std::make_shared<llvm::sys::fs::mapped_file_region>(
      llvm::sys::fs::convertFDToNativeFile(fd),
      llvm::sys::fs::mapped_file_region::readonly, size, 0, error);
  if (error)
    return llvm::createStringError(error, "cannot map the temporary file: %s",
                                   error.message().c_str());
  return region;
}
