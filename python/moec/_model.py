"""A compiled model's shared library, run through its C ABI (include/moec-runtime/moec_model.h)."""

import collections
import ctypes
import os

import numpy as np

# moec_dtype, in its order. bfloat16, which numpy lacks, travels as its bits in uint16.
_BFLOAT16 = 2
_DTYPES = [np.float32, np.float16, np.uint16, np.float64, np.int8, np.int16, np.int32, np.int64,
           np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]
_INPUT, _OUTPUT = 0, 1


def _to_bfloat16_bits(values):
    """float32 values rounded to the nearest bfloat16 (ties to even), as uint16 bits."""
    bits = np.ascontiguousarray(values, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    # NaN stays NaN: keep its top bits (rounding could carry it into infinity).
    nan = np.isnan(values)
    return np.where(nan, bits >> 16, rounded).astype(np.uint16)


def _from_bfloat16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)

TensorInfo = collections.namedtuple("TensorInfo", ["name", "dtype", "shape"])
TensorInfo.__doc__ = """An input or output: its name, dtype name ("float32", ...) and shape,
each dimension an int, or the name of a dynamic one (a dim_param, "?" when unnamed)."""


class ModelError(RuntimeError):
    """The runtime refused a call: wrong inputs, a missing weights file, no GPU."""


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int32), ("rank", ctypes.c_int64),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p)]


def _declare(lib):
    c_model = ctypes.c_void_p
    signatures = {
        "moec_last_error": (ctypes.c_char_p, []),
        "moec_dtype_name": (ctypes.c_char_p, [ctypes.c_int]),
        "moec_model_create": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(c_model)]),
        "moec_model_destroy": (None, [c_model]),
        "moec_model_target": (ctypes.c_char_p, [c_model]),
        "moec_model_count": (ctypes.c_size_t, [c_model, ctypes.c_int]),
        "moec_model_name": (ctypes.c_char_p, [c_model, ctypes.c_int, ctypes.c_size_t]),
        "moec_model_dtype": (ctypes.c_int, [c_model, ctypes.c_int, ctypes.c_size_t]),
        "moec_model_rank": (ctypes.c_int64, [c_model, ctypes.c_int, ctypes.c_size_t]),
        "moec_model_dim": (ctypes.c_int64,
                           [c_model, ctypes.c_int, ctypes.c_size_t, ctypes.c_int64]),
        "moec_model_dim_name": (ctypes.c_char_p,
                                [c_model, ctypes.c_int, ctypes.c_size_t, ctypes.c_int64]),
        "moec_model_execute": (ctypes.c_int, [c_model, ctypes.POINTER(_Tensor), ctypes.c_size_t,
                                              ctypes.POINTER(_Tensor), ctypes.c_size_t]),
        "moec_tensor_release": (None, [ctypes.POINTER(_Tensor)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes


class Model:
    """A compiled model. Call it with its inputs by name, as numpy arrays of their dtypes;
    it returns {output name: numpy array}. `info` describes the inputs and outputs.
    bfloat16, which numpy lacks, goes in and comes out as float32."""

    def __init__(self, path, num_threads=0):
        self._lib = ctypes.CDLL(os.path.abspath(path))
        _declare(self._lib)
        handle = ctypes.c_void_p()
        self._check(self._lib.moec_model_create(num_threads, ctypes.byref(handle)))
        self._handle = handle
        self.inputs = self._describe(_INPUT)
        self.outputs = self._describe(_OUTPUT)
        self.target = self._lib.moec_model_target(handle).decode()

    @property
    def info(self):
        """{"target": ..., "inputs": [TensorInfo...], "outputs": [TensorInfo...]}"""
        return {"target": self.target, "inputs": self.inputs, "outputs": self.outputs}

    def _check(self, status):
        if status != 0:
            raise ModelError(self._lib.moec_last_error().decode())

    def _describe(self, io):
        lib, handle = self._lib, self._handle
        tensors = []
        for i in range(lib.moec_model_count(handle, io)):
            shape = []
            for d in range(lib.moec_model_rank(handle, io, i)):
                size = lib.moec_model_dim(handle, io, i, d)
                shape.append(size if size >= 0
                             else lib.moec_model_dim_name(handle, io, i, d).decode())
            dtype = lib.moec_dtype_name(lib.moec_model_dtype(handle, io, i)).decode()
            tensors.append(TensorInfo(lib.moec_model_name(handle, io, i).decode(), dtype,
                                      tuple(shape)))
        return tensors

    def __call__(self, **inputs):
        names = [info.name for info in self.inputs]
        unknown = sorted(set(inputs) - set(names))
        missing = [name for name in names if name not in inputs]
        if unknown or missing:
            raise ModelError("the model takes " + ", ".join(names) + "; missing: "
                             + (", ".join(missing) or "none") + "; unknown: "
                             + (", ".join(unknown) or "none"))
        arrays, tensors, shapes = [], (_Tensor * len(names))(), []
        for tensor, info in zip(tensors, self.inputs):
            array = np.ascontiguousarray(inputs[info.name])
            if info.dtype == "bfloat16" and array.dtype == np.float32:
                array, code = _to_bfloat16_bits(array), _BFLOAT16
            else:
                code = next((c for c, t in enumerate(_DTYPES)
                             if c != _BFLOAT16 and array.dtype == t), -1)
            shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
            arrays.append(array)
            shapes.append(shape)
            tensor.dtype, tensor.rank, tensor.shape = code, array.ndim, shape
            tensor.data = array.ctypes.data_as(ctypes.c_void_p)
        outputs = (_Tensor * len(self.outputs))()
        self._check(self._lib.moec_model_execute(self._handle, tensors, len(names), outputs,
                                                 len(self.outputs)))
        results = {}
        for tensor, info in zip(outputs, self.outputs):
            shape = tuple(tensor.shape[d] for d in range(tensor.rank))
            dtype = _DTYPES[tensor.dtype]
            count = int(np.prod(shape, dtype=np.int64))
            size = count * np.dtype(dtype).itemsize
            buffer = (ctypes.c_char * size).from_address(tensor.data) if count else b""
            value = np.frombuffer(buffer, dtype=dtype, count=count).reshape(shape).copy()
            results[info.name] = _from_bfloat16_bits(value) if tensor.dtype == _BFLOAT16 else value
            self._lib.moec_tensor_release(ctypes.byref(tensor))
        return results

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle:
            self._lib.moec_model_destroy(handle)
            self._handle = None
