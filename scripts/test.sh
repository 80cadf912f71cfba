#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what is missing, builds, and runs every
# test (lit: FileCheck tests, GoogleTest units, end-to-end tests). lit's summary is the last
# thing printed.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh"
exec "$(llvm-config-22 --bindir)/lit" -sv --no-progress-bar "$@" "$repo/build/test" "$repo/build/test/unit"
