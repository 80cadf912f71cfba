//===- Checks.h - Failed run-time checks of compiled models -----*- C++ -*-===//
//
// Compiled code calls moec_rt_check_failed (include/moec-runtime/kernels.h) when a
// relation that an op's spec requires does not hold for the values of a run: an index
// outside its dimension, sizes that disagree; and allocates its buffers through MLIR's
// generic allocation functions, defined here, which fail the same way when malloc does.
// What happens then is the embedder's: the executable's main() prints one line and exits
// with code 2.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_LIB_RUNTIME_CHECKS_H
#define MOEC_LIB_RUNTIME_CHECKS_H

#include <cstdint>
#include <string>

namespace moec::rt {

// `message` with "{0}" and "{1}" replaced by `value0` and `value1`, and "{{" by "{".
std::string formatCheckMessage(const char *message, int64_t value0, int64_t value1);

// Called with the formatted message of a failed check; must not return. The default
// prints "error: MESSAGE" on stderr and exits with code 2.
using CheckFailureHandler = void (*)(const std::string &message);
void setCheckFailureHandler(CheckFailureHandler handler);

} // namespace moec::rt

#endif // MOEC_LIB_RUNTIME_CHECKS_H
