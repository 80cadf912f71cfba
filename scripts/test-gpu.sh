#!/usr/bin/env bash
# Every test that needs a GPU (lit's `REQUIRES: gpu`: test/e2e/gpu and the GPU runtime's
# tests in test/lib/runtime), for a machine with an NVIDIA GPU and its driver that can also
# set up and build moec (network, LLVM 22, lit). Sets up and builds like scripts/test.sh,
# then fails unless `nvidia-smi -L` lists a GPU: elsewhere these tests are only reported as
# unsupported. A GPU machine that cannot build moec (the one the `device` tool lends: no
# network, no LLVM) runs the GPU e2e tests from a bundle built here instead:
# scripts/gpu-bundle.sh (docs/testing.md, "GPU tests on a lent machine").
# Extra arguments go to lit.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! gpus=$(nvidia-smi -L 2>&1) || ! grep -q GPU <<<"$gpus"; then
  echo "test-gpu: no GPU visible (nvidia-smi -L: ${gpus:-nothing})" >&2
  exit 1
fi
echo "test-gpu: $gpus"
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh"
mapfile -t tests < <(cd "$repo/test" &&
  grep -rlE '^[[:space:]]*(#|//|;)?[[:space:]]*REQUIRES:.*\bgpu\b' --include='*.test' --include='*.mlir' . |
  sort | sed "s#^\./#$repo/build/test/#")
if ((${#tests[@]} == 0)); then
  echo "test-gpu: no test says REQUIRES: gpu" >&2
  exit 1
fi
exec "$(llvm-config-22 --bindir)/lit" -sv --no-progress-bar "$@" "${tests[@]}"
