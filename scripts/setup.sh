#!/usr/bin/env bash
# Installs everything moec needs on a fresh Debian 12 machine: LLVM/MLIR 22, protobuf, ONNX's
# proto library and test data, ccache, and a Python virtual environment (.venv, ignored by git)
# with onnx, numpy and onnxruntime; Debian's PyTorch (python3-torch) for the scripts that
# export MoE modules. Idempotent, and quiet when everything is already there.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

debian_packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 libclang-rt-22-dev
  protobuf-compiler libprotobuf-dev libonnx-dev libonnx-testdata
  cmake ninja-build ccache libgtest-dev python3-venv python3-torch
)
python_packages=(onnx==1.17.0 numpy==1.26.4 onnxruntime==1.23.2)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$repo/.venv"
stamp="$venv/.moec-requirements"
wanted="${python_packages[*]}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "setup: preparing the Python environment in .venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_packages[@]}"
  echo "$wanted" >"$stamp"
fi
