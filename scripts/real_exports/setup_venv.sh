#!/usr/bin/env bash
# Creates .venv-export/ in the repository root with the pinned export toolchain
# (scripts/real_exports/requirements.txt). Only the fixture generator needs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
python="${PYTHON:-python3}"
venv="$root/.venv-export"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install -r "$root/scripts/real_exports/requirements.txt"
"$venv/bin/python" -c 'import torch, transformers, onnx, onnxruntime, onnxscript, onnxruntime_genai; print("torch", torch.__version__, "transformers", transformers.__version__, "onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "onnxruntime-genai", onnxruntime_genai.__version__)'
