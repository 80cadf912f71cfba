//===- Checks.cpp - Failed run-time checks of compiled models -------------===//

#include "Checks.h"
#include "HostMemoryPool.h"

#include "moec-runtime/kernels.h"

#include <cstdio>
#include <cstdlib>

using namespace moec::rt;

namespace {
[[noreturn]] void printAndExit(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(2);
}

CheckFailureHandler checkFailureHandler = printAndExit;

[[noreturn]] void fail(const std::string &message) {
  checkFailureHandler(message);
  // A handler that returns would let the program read out of bounds.
  std::abort();
}
} // namespace

std::string moec::rt::formatCheckMessage(const char *message, int64_t value0, int64_t value1) {
  std::string text;
  for (const char *c = message; *c; ++c) {
    if (c[0] == '{' && c[1] == '{') {
      text += '{';
      ++c;
    } else if (c[0] == '{' && (c[1] == '0' || c[1] == '1') && c[2] == '}') {
      text += std::to_string(c[1] == '0' ? value0 : value1);
      c += 2;
    } else {
      text += *c;
    }
  }
  return text;
}

void moec::rt::setCheckFailureHandler(CheckFailureHandler handler) {
  checkFailureHandler = handler ? handler : printAndExit;
}

// Compiled code allocates its buffers through these (MLIR's memref-to-llvm with
// use-generic-functions), from the pool that keeps them across runs: what the
// model returns goes back to it through Buffer or moec_tensor_release.
extern "C" void *_mlir_memref_to_llvm_alloc(size_t bytes);
extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes);
extern "C" void _mlir_memref_to_llvm_free(void *pointer);

namespace {
// `pointer`, unless the allocation of `bytes` (> 0) failed: then the run cannot go on.
void *checkedAllocation(void *pointer, size_t bytes) {
  if (!pointer && bytes != 0)
    fail("out of memory: the model needs a buffer of " + std::to_string(bytes) + " bytes");
  return pointer;
}
} // namespace

void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  return checkedAllocation(hostMemoryPool().allocate(bytes, 1), bytes);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  return checkedAllocation(hostMemoryPool().allocate(bytes, alignment), bytes);
}

void _mlir_memref_to_llvm_free(void *pointer) { hostMemoryPool().deallocate(pointer); }

void moec_rt_check_failed(const char *message, int64_t value0, int64_t value1) {
  fail(formatCheckMessage(message, value0, value1));
}
