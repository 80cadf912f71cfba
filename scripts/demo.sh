#!/usr/bin/env bash
# moec's main job on the bundled example: set up, build, compile examples/ffn_block.onnx for
# the host, run it, and print its output, its time and its difference from onnxruntime.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$repo/scripts/setup.sh"
"$repo/scripts/build.sh" >/dev/null
python="$repo/.venv/bin/python"
model="$repo/examples/ffn_block.onnx"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== moec examples/ffn_block.onnx -o ffn_block --target=host"
start=$(date +%s.%N)
"$repo/build/bin/moec" "$model" -o "$work/ffn_block" --target=host
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "   compiled in %.2f s\n", e - s }'
echo "== ffn_block --info"
"$work/ffn_block" --info
echo "== run on random inputs (batch 4, seq 32), compare with onnxruntime, time 200 runs"
"$python" "$repo/scripts/run_vs_onnxruntime.py" "$model" "$work/ffn_block" \
  --dim batch=4 --dim seq=32 --bench 200
