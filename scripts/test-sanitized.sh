#!/usr/bin/env bash
# The whole lit suite (FileCheck tests, GoogleTest units, end-to-end tests) against a build
# with ASan and UBSan (MOEC_SANITIZE=ON) in build-sanitize/: moec, moe-opt, the plugin, the
# units, the fuzzers, and the runtime that moec links into every executable and library it
# emits, so that each e2e test also checks the emitted program's runtime. Any sanitizer
# report fails the test that ran into it. Other arguments go to lit (e.g. --filter NAME).
# --ci: only the bounded part that scripts/test.sh runs in CI (scripts/sanitizers/env.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$repo/build-sanitize"
source "$repo/scripts/sanitizers/env.sh"
lit_args=()
if [ "${1:-}" = --ci ]; then
  shift
  lit_args=(--filter-out "$sanitized_ci_filter_out")
fi
"$repo/scripts/build.sh" --sanitize
exec "$(llvm-config-22 --bindir)/lit" -sv --no-progress-bar "${lit_args[@]}" "$@" \
  "$build/test" "$build/test/unit"
