#!/usr/bin/env bash
# The whole lit suite (FileCheck tests, GoogleTest units, end-to-end tests) against a build
# with ASan and UBSan (MOEC_SANITIZE=ON) in build-sanitize/: moec, moe-opt, the plugin, the
# units, the fuzzers, and the runtime that moec links into every executable and library it
# emits, so that each e2e test also checks the emitted program's runtime. Any sanitizer
# report fails the test that ran into it. Arguments go to lit (e.g. --filter NAME).
# docs/reliability.md, "Sanitizers".
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$repo/build-sanitize"
"$repo/scripts/build.sh" --sanitize

bindir=$(llvm-config-22 --bindir)
# abort_on_error: a report ends the process with SIGABRT, which no test mistakes for the
# exit status it expects (ASan's default, 1, looks like moec's own error exits under `not`).
common="abort_on_error=1:halt_on_error=1:print_stacktrace=1"
# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs in inline code, which is
# instrumented in our objects and not in libMLIR; memory that libMLIR then hands out from such
# a slab reads as poisoned in our code ("use-after-poison" in every attribute storage). ASan's
# own checks of every heap, stack and global access stay on.
export ASAN_OPTIONS="$common:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="$common"
export LSAN_OPTIONS="suppressions=$repo/scripts/sanitizers/lsan.supp:print_suppressions=0"
export ASAN_SYMBOLIZER_PATH="$bindir/llvm-symbolizer"
exec "$bindir/lit" -sv --no-progress-bar "$@" "$build/test" "$build/test/unit"
