"""moec in-process: compile ONNX Mixture-of-Experts models and run what it emits.

    import moec
    path = moec.compile("model.onnx")           # a shared library with moec's C ABI
    model = moec.load(path)
    outputs = model(x=numpy_array)               # {output name: numpy array}

compile() runs the same compile as the moec command line (moec::compile in C++);
docs/embedding.md says more.
"""

import os
import tempfile

from . import _moec
from ._model import Model, ModelError, TensorInfo

__all__ = ["compile", "load", "passes", "CompileError", "Model", "ModelError", "TensorInfo"]
__version__ = _moec.version

# What each kind of output is called when compile() names it.
_SUFFIXES = {"exe": "", "lib": ".so", "obj": ".o", "ptx": ".ptx", "mlir": ".mlir"}


class CompileError(Exception):
    """A compile failed; `diagnostics` holds its messages, one line each, and `status` is
    moec's exit code (1: unavailable in this build or on this machine, 2: bad input)."""

    def __init__(self, status, diagnostics):
        self.status = status
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(self.diagnostics) or "moec: compile failed")


def passes():
    """The optional passes, in the order they run: the names disable_passes takes."""
    return list(_moec.optional_passes())


def _runtime_library_dir():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")


def compile(model, output=None, target="host", emit="lib", quantize=None, disable_passes=(),
            **options):
    """Compiles `model` and returns the path of what was written.

    model: the path of an .onnx (or .mlir) file, the bytes of an ONNX model, or an
      onnx.ModelProto. External data of bytes and protos is looked up in the current folder.
    output: where to write; by default beside a model file (model.so for emit="lib"), or in a
      new temporary folder for bytes and protos.
    target: "host", "sm_80", "sm_89", "sm_90", "sm_90a" or "cuda".
    emit: "lib" (a shared library that load() runs), "exe", "obj", "ptx" or "mlir".
    quantize: None, or "int8", "int4" or "fp8" (host target; docs/quantization.md), with
      options quantize_group=ROWS, quantize_scheme="asymmetric" (int8 and int4),
      quantize_config=FILE, report=True.
    disable_passes: names from passes() not to run.
    options: any other option of the moec command line, with _ for - (stop_after="raise",
      precision="bf16", gpu_binary="ptx", weights_file_over=0, ...).

    Raises CompileError with the diagnostics when the compile fails.
    """
    flags = [("target", target), ("emit", emit), ("quantize", quantize or "none")]
    flags += [("disable-pass", name) for name in disable_passes]
    for name, value in options.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        flags.append((name.replace("_", "-"), str(value)))

    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if output is None:
            output = os.path.splitext(path)[0] + _SUFFIXES.get(emit, "")
        status, diagnostics = _moec.compile_file(path, os.fspath(output), flags,
                                                 _runtime_library_dir())
    else:
        if not isinstance(model, (bytes, bytearray, memoryview)):
            if not hasattr(model, "SerializeToString"):
                raise TypeError("model must be a path, bytes or an onnx.ModelProto, not "
                                + type(model).__name__)
            model = model.SerializeToString()
        if output is None:
            output = os.path.join(tempfile.mkdtemp(prefix="moec-"),
                                  "model" + _SUFFIXES.get(emit, ""))
        status, diagnostics = _moec.compile_bytes(bytes(model), "model.onnx", os.getcwd(),
                                                  os.fspath(output), flags,
                                                  _runtime_library_dir())
    if status != 0:
        raise CompileError(status, diagnostics)
    return os.fspath(output)


def load(path, num_threads=0):
    """Loads a shared library that compile(..., emit="lib") wrote. num_threads > 0 sizes
    the runtime's thread pool; 0 keeps its default (one per CPU)."""
    return Model(path, num_threads)
