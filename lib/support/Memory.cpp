//===- Memory.cpp - Keeping large weights out of resident memory ----------===//

#include "moec/Support/Memory.h"

#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Process.h"

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
