# -*- Python -*-
import os
import shutil
import subprocess

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

ptxas_dirs = [d for d in [config.cuda_bin_dir, "/usr/local/cuda/bin"] if d]
if any(os.path.exists(os.path.join(d, "ptxas")) for d in ptxas_dirs) or shutil.which("ptxas"):
    config.available_features.add("ptxas")
    for d in ptxas_dirs:
        llvm_config.with_environment("PATH", d, append_path=True)
else:
    # DESIGN.md: every emitted PTX is assembled in every test run. Without ptxas those tests
    # are skipped, which must not go unnoticed.
    lit_config.warning("ptxas not found (CUDA toolkit bin/, CUDA_HOME, PATH): the tests "
                       "that assemble emitted PTX are UNSUPPORTED in this run")

# CUDA's libdevice (math functions for NVVM), for tests that assemble PTX with math calls.
libdevice_roots = [os.environ.get(v) for v in ("CUDA_HOME", "CUDA_PATH")]
libdevice_roots += [os.path.dirname(d) for d in ptxas_dirs] + ["/usr/local/cuda"]
for root in filter(None, libdevice_roots):
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
