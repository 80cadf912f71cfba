//===- Checks.cpp - Failed run-time checks of compiled models -------------===//

#include "Checks.h"

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

void moec_rt_check_failed(const char *message, int64_t value0, int64_t value1) {
  checkFailureHandler(formatCheckMessage(message, value0, value1));
  // A handler that returns would let the program read out of bounds.
  std::abort();
}
