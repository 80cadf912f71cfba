#!/usr/bin/env bash
# moec's main job on the bundled example: set up, build, then verify and canonicalize an
# example MoE layer with moe-opt and print the result.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh" >/dev/null
example="$repo/examples/mixtral-layer.mlir"
echo "== moe-opt -canonicalize examples/mixtral-layer.mlir"
start=$(date +%s.%N)
"$repo/build/bin/moe-opt" -canonicalize "$example"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "== verified and canonicalized in %.1f ms\n", (e - s) * 1000 }'
