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

namespace moec {

/// Drops the pages of `bytes` (and of the rest of the pages they touch) from moec's
/// resident memory without losing their contents: a file mapping reads them again from the
/// file when next touched. Linux honours it (MADV_PAGEOUT) for files that the user owns or
/// may write; elsewhere it is a hint without effect.
void releasePages(llvm::ArrayRef<char> bytes);

} // namespace moec

#endif // MOEC_SUPPORT_MEMORY_H
