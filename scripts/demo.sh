#!/usr/bin/env bash
# moec's main job on the bundled example: set up, build, compile examples/mixtral_block.onnx
# (a Mixtral-style MoE block as torch exports it) for the host, show the raised layer, run
# it, and print its output, its time and its difference from onnxruntime.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The demo compiles for the host: it needs no CUDA toolkit.
MOEC_ALLOW_NO_CUDA=${MOEC_ALLOW_NO_CUDA:-1} "$repo/scripts/setup.sh"
"$repo/scripts/build.sh" >/dev/null
python="$repo/.venv/bin/python"
model="$repo/examples/mixtral_block.onnx"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== moec examples/mixtral_block.onnx --stop-after=raise --emit=mlir (the raised MoE layer)"
"$repo/build/bin/moec" "$model" --stop-after=raise --emit=mlir -o - | grep -o 'moe.layer.*routing.*' |
  sed -e 's/ : (.*//'
echo "== moec examples/mixtral_block.onnx -o mixtral_block --target=host"
start=$(date +%s.%N)
"$repo/build/bin/moec" "$model" -o "$work/mixtral_block" --target=host
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "   compiled in %.2f s\n", e - s }'
echo "== mixtral_block --info"
"$work/mixtral_block" --info
echo "== run on random inputs (batch 4, seq 32), compare with onnxruntime, time 200 runs"
"$python" "$repo/scripts/run_vs_onnxruntime.py" "$model" "$work/mixtral_block" \
  --dim batch=4 --dim seq=32 --bench 200
