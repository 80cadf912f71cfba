#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what is missing, builds, and runs every
# test (lit: FileCheck tests, GoogleTest units, end-to-end tests), then the same suite, but
# its two long campaigns and the fuzzers, against the build with ASan and UBSan
# (build-sanitize/, scripts/test-sanitized.sh runs all of it). One lit run holds both, so that
# its summary is the last thing printed and a failure in either fails.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh"
"$repo/scripts/build.sh" --sanitize
source "$repo/scripts/sanitizers/env.sh"
exec "$(llvm-config-22 --bindir)/lit" -sv --no-progress-bar --filter-out "$sanitized_ci_filter_out" \
  "$@" "$repo/build/test" "$repo/build/test/unit" "$repo/build-sanitize/test" \
  "$repo/build-sanitize/test/unit"
