#!/usr/bin/env bash
# Builds here, with this checkout's moec, a bundle of every GPU e2e test (test/e2e/gpu) for a
# GPU machine that cannot build moec, e.g. one lent through the `device` tool:
#   scripts/gpu-bundle.sh OUTDIR [--target=sm_90a] [--test NAME ...]
# then, there, `bash OUTDIR/run.sh` (docs/testing.md, "GPU tests on a lent machine"). MOEC
# and PYTHON name another moec and interpreter (default build/bin/moec and .venv/bin/python).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec "${PYTHON:-$repo/.venv/bin/python}" "$repo/scripts/gpu_bundle.py" \
  --moec "${MOEC:-$repo/build/bin/moec}" "$@"
