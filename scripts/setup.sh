#!/usr/bin/env bash
# Installs everything moec needs on a fresh Debian 12 machine: LLVM/MLIR 22, protobuf, ONNX's
# proto library and test data, ccache, and a Python virtual environment (.venv, ignored by git)
# with onnx, numpy and onnxruntime, and nanobind, scikit-build-core and pytest for the Python
# package (python/, `pip install .`); Debian's PyTorch (python3-torch) for the scripts that
# export MoE modules; Open MPI for expert parallelism between processes (docs/sharding.md).
# Finds the CUDA toolkit (ptxas, libdevice) for the GPU-compilation tests
# and fails, in one line, when it is missing (MOEC_ALLOW_NO_CUDA=1: go on without them).
# Idempotent; prints one line per step (and the installers' own lines while they install).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

debian_packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 libclang-rt-22-dev
  protobuf-compiler libprotobuf-dev libonnx-dev libonnx-testdata
  cmake ninja-build ccache libgtest-dev python3-venv python3-dev python3-torch
  libopenmpi-dev openmpi-bin
)
python_packages=(onnx==1.17.0 numpy==1.26.4 onnxruntime==1.23.2
                 nanobind==2.9.2 scikit-build-core==0.11.6 pytest==8.4.2)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  echo "setup: apt-get update"
  "${sudo_cmd[@]}" apt-get update -qq
  # apt's own lines as each package unpacks and sets up, not minutes of silence.
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: Debian packages: all ${#debian_packages[@]} installed"
fi

venv="$repo/.venv"
stamp="$venv/.moec-requirements"
wanted="${python_packages[*]}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "setup: preparing the Python environment in .venv: ${python_packages[*]}"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
    "${python_packages[@]}"
  echo "$wanted" >"$stamp"
else
  echo "setup: Python environment .venv: up to date"
fi

# The CUDA toolkit: ptxas assembles the PTX moec emits and nvvm/libdevice/libdevice.10.bc
# gives NVVM its math functions, for the 20-odd GPU-compilation tests (REQUIRES: ptxas,
# libdevice). Looked for where moec and test/lit.cfg.py look (codegen/gpu/CudaTarget.cpp):
# $CUDA_HOME, $CUDA_PATH, the toolkit of the nvcc on PATH, /usr/local/cuda. It is not
# installed here: Debian 12's nvidia-cuda-toolkit (CUDA 11.8, in non-free) predates sm_90a
# and keeps libdevice outside nvvm/, so it cannot run those tests; NVIDIA's toolkit (12.0 or
# newer) can. Without it setup fails, unless MOEC_ALLOW_NO_CUDA=1 accepts skipping them
# (lit then names the missing features and counts the tests each makes unsupported).
cuda_toolkits=("${CUDA_HOME:-}" "${CUDA_PATH:-}")
if nvcc=$(command -v nvcc 2>/dev/null); then
  cuda_toolkits+=("$(dirname "$(dirname "$(readlink -f "$nvcc")")")")
fi
cuda_toolkits+=(/usr/local/cuda)
cuda_found=
for toolkit in "${cuda_toolkits[@]}"; do
  if [ -n "$toolkit" ] && [ -x "$toolkit/bin/ptxas" ] &&
     [ -f "$toolkit/nvvm/libdevice/libdevice.10.bc" ]; then
    cuda_found=$toolkit
    break
  fi
done
if [ -n "$cuda_found" ]; then
  ptxas_release=$("$cuda_found/bin/ptxas" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
  if [ "${ptxas_release:-0}" -lt 12 ]; then
    cuda_missing="ptxas of CUDA 12.0 or newer (for sm_90a; $cuda_found/bin/ptxas is release ${ptxas_release:-unknown})"
    cuda_found=
  fi
else
  cuda_missing="the CUDA toolkit's bin/ptxas and nvvm/libdevice/libdevice.10.bc (looked in \$CUDA_HOME, \$CUDA_PATH, nvcc's toolkit, /usr/local/cuda)"
fi
if [ -z "$cuda_found" ]; then
  if [ "${MOEC_ALLOW_NO_CUDA:-}" = 1 ]; then
    echo "setup: warning: missing $cuda_missing: the GPU-compilation tests will be UNSUPPORTED (MOEC_ALLOW_NO_CUDA=1)" >&2
  else
    echo "setup: error: missing $cuda_missing; install NVIDIA's CUDA toolkit 12 or newer, or set MOEC_ALLOW_NO_CUDA=1 to run without the GPU-compilation tests" >&2
    exit 1
  fi
fi
if [ -n "$cuda_found" ]; then
  echo "setup: CUDA toolkit: $cuda_found"
fi
