# -*- Python -*-
import atexit
import glob
import os
import re
import shutil
import subprocess
import sys

import lit.formats
from lit.llvm import llvm_config

# Apart from the plain build's, so that one lit run can hold both (scripts/test.sh).
config.name = "moec-sanitized" if config.moec_sanitize else "moec"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "unit"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.moec_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%moec_src", config.moec_src_root))
config.substitutions.append(("%moec_libs", config.moec_lib_dir))
config.substitutions.append(("%moec_obj", config.moec_obj_root))
config.substitutions.append(("%mlir_tools", config.mlir_tools_dir))

llvm_config.with_system_environment(["HOME", "TMPDIR", "CUDA_HOME", "CUDA_PATH", "LSAN_OPTIONS"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.moec_tools_dir, append_path=True)

# Tests that need a GPU run only where nvidia-smi sees one; elsewhere lit reports them as
# unsupported (skipped), never as passed.
def gpu_present():
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout

# A build with MOEC_SANITIZE: C programs that link moec's runtime, or a library moec emitted,
# link the sanitizers' runtime (%sanitizer_flags); upstream mlir-opt, not instrumented, loads
# the instrumented plugin with ASan's shared runtime preloaded (%preload_sanitizer_runtime).
if config.moec_sanitize:
    config.available_features.add("sanitizers")
    config.substitutions.append(("%sanitizer_flags", config.sanitizer_flags))
    config.substitutions.append(
        ("%preload_sanitizer_runtime", "env LD_PRELOAD=" + config.asan_runtime))
else:
    config.substitutions.append(("%sanitizer_flags", ""))
    config.substitutions.append(("%preload_sanitizer_runtime", ""))

# libFuzzer targets are built only with clang.
if os.path.exists(os.path.join(config.moec_tools_dir, "moec-import-fuzzer")):
    config.available_features.add("fuzzer")

if gpu_present():
    config.available_features.add("gpu")

# Expert parallelism between processes runs under Open MPI's mpirun (scripts/setup.sh), where
# the build made the runtime's MPI part (lib/runtime/comm). %mpirun starts N ranks on this
# machine, however few its cores, as root too, and bounds the run so that a hang fails. Not in
# the sanitized build: Open MPI itself is not instrumented, and its allocations at exit have
# not been checked against LeakSanitizer.
mpirun = shutil.which("mpirun")
if (mpirun and not config.moec_sanitize and
        os.path.exists(os.path.join(config.moec_lib_dir, "libmoec_runtime_comm.a"))):
    config.available_features.add("mpi")
    config.substitutions.append(
        ("%mpirun", f"timeout 120 {mpirun} --oversubscribe --allow-run-as-root"))

# The Python package in the build tree (python/CMakeLists.txt), built where nanobind is in
# the .venv and the build is not sanitized.
if glob.glob(os.path.join(config.moec_obj_root, "python_packages", "moec", "_moec.*.so")):
    config.available_features.add("python-package")

# The CUDA toolkit, looked for where moec looks (codegen/gpu/CudaTarget.cpp): $CUDA_HOME,
# $CUDA_PATH, the toolkit of the nvcc on PATH, then CMake's and /usr/local/cuda.
cuda_roots = [os.environ.get(v) for v in ("CUDA_HOME", "CUDA_PATH")]
if shutil.which("nvcc"):
    cuda_roots.append(os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("nvcc")))))
cuda_roots += [os.path.dirname(config.cuda_bin_dir) if config.cuda_bin_dir else None,
               "/usr/local/cuda"]
cuda_roots = [r for r in cuda_roots if r]
ptxas_dirs = [os.path.join(r, "bin") for r in cuda_roots]
ptxas_dir = next((d for d in ptxas_dirs if os.path.exists(os.path.join(d, "ptxas"))), None)
if ptxas_dir or shutil.which("ptxas"):
    config.available_features.add("ptxas")
    if ptxas_dir:
        llvm_config.with_environment("PATH", ptxas_dir, append_path=True)

# CUDA's libdevice (math functions for NVVM), for tests that assemble PTX with math calls.
for root in cuda_roots:
    libdevice = os.path.join(root, "nvvm", "libdevice", "libdevice.10.bc")
    if os.path.exists(libdevice):
        config.available_features.add("libdevice")
        config.substitutions.append(("%libdevice", libdevice))
        break

# PyTorch lives in Debian's system interpreter only (not in the .venv): the tests that
# export models with torch run where it imports. `torch-X.Y` marks its version, so that tests
# that compare a fresh export byte for byte with a checked-in fixture run only with the
# exporter that made it.
torch_python = "/usr/bin/python3"
try:
    torch_check = subprocess.run([torch_python, "-c", "import torch; print(torch.__version__)"],
                                 capture_output=True, text=True, timeout=120)
    if torch_check.returncode == 0:
        config.available_features.add("torch")
        config.available_features.add(
            "torch-" + ".".join(torch_check.stdout.strip().split(".")[:2]))
        config.substitutions.append(("%torch_python", torch_python))
except (OSError, subprocess.SubprocessError):
    pass

# Loud skips (DESIGN.md, "Testing"): a test whose REQUIRES names a missing feature is
# UNSUPPORTED, which lit's summary only counts. Every missing feature is named here, with
# why and how many tests it makes unsupported, at the start of the run and again after lit's
# summary. In CI (CI set) a missing CUDA toolkit (ptxas, libdevice) is an error, unless
# MOEC_ALLOW_NO_CUDA=1 (scripts/setup.sh, docs/testing.md).
OPTIONAL_FEATURES = {
    "ptxas": "ptxas not found in " + ", ".join(ptxas_dirs) + " or on PATH",
    "libdevice": "nvvm/libdevice/libdevice.10.bc not found under " + ", ".join(cuda_roots),
    "gpu": "no GPU that nvidia-smi sees",
    "mpi": "no mpirun on PATH, no lib/libmoec_runtime_comm.a in the build (Open MPI: "
           "scripts/setup.sh), or the sanitized build",
    "torch": "no torch in " + torch_python,
    "torch-1.13": "the fixtures' exporter, torch 1.13, is not " + torch_python + "'s torch",
    "fuzzer": "no libFuzzer targets in this build (clang only)",
    "cuda-stub-driver": "no lib64/stubs/libcuda.so beside ptxas",
    "sanitizers": "not the sanitized build (build-sanitize/ runs them)",
    "python-package": "no Python package in this build (a sanitized build, or no nanobind in "
                      "the .venv: scripts/setup.sh)",
}
# test/lib/runtime/lit.local.cfg sets cuda-stub-driver where the toolkit has its stub.
if os.path.exists(os.path.join(ptxas_dir or "/usr/local/cuda/bin", "..", "lib64", "stubs",
                               "libcuda.so")):
    OPTIONAL_FEATURES.pop("cuda-stub-driver")


def tests_requiring(features):
    """How many tests of this suite have a REQUIRES line naming each feature."""
    counts = dict.fromkeys(features, 0)
    token = re.compile(r"[A-Za-z0-9_.+-]+")
    for root, dirs, files in os.walk(config.test_source_root):
        dirs[:] = [d for d in dirs if d not in ("Inputs", "unit")]
        for name in files:
            if os.path.splitext(name)[1] not in config.suffixes:
                continue
            with open(os.path.join(root, name), errors="replace") as f:
                required = set()
                for line in f:
                    if "REQUIRES:" in line:
                        required.update(token.findall(line.split("REQUIRES:", 1)[1]))
            for feature in features:
                counts[feature] += feature in required
    return counts


missing = [f for f in OPTIONAL_FEATURES if f not in config.available_features]
skips = tests_requiring(missing)
skip_lines = [f"{config.name}: feature '{f}' missing ({OPTIONAL_FEATURES[f]}): {skips[f]} "
              f"tests UNSUPPORTED" for f in missing if skips[f]]
for line in skip_lines:
    lit_config.note(line)
if skip_lines:
    # After lit's summary too, where the counts are read.
    atexit.register(lambda: print("\n".join(skip_lines), file=sys.stderr))
cuda_missing = [f for f in ("ptxas", "libdevice") if f in missing and skips[f]]
if cuda_missing and os.environ.get("CI") and os.environ.get("MOEC_ALLOW_NO_CUDA") != "1":
    lit_config.fatal(f"CI: the CUDA toolkit's {' and '.join(cuda_missing)} missing, so "
                     f"{sum(skips[f] for f in cuda_missing)} GPU-compilation tests would be "
                     "skipped; install the toolkit (scripts/setup.sh) or set "
                     "MOEC_ALLOW_NO_CUDA=1")
