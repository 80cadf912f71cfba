"""Writes a seed corpus of .npy files to the folder given: every dtype the executables
read, scalars, empty arrays, format versions 1.0 to 3.0, and truncated copies."""
import os
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
arrays = {
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4),
    "f16": np.ones(5, np.float16), "f64": np.zeros((2, 2)), "i8": np.arange(-3, 3, dtype=np.int8),
    "i64": np.arange(6, dtype=np.int64).reshape(1, 2, 3), "u16": np.arange(4, dtype=np.uint16),
    "bool": np.array([True, False]), "scalar": np.array(1.5, np.float32),
    "empty": np.zeros((0, 3), np.float32),
}
for name, array in arrays.items():
    path = os.path.join(out, f"{name}.npy")
    np.save(path, array)
    data = open(path, "rb").read()
    open(os.path.join(out, f"{name}_truncated.npy"), "wb").write(data[: len(data) * 2 // 3])
for version in [(2, 0), (3, 0)]:
    with open(os.path.join(out, f"v{version[0]}.npy"), "wb") as f:
        np.lib.format.write_array(f, arrays["f32"], version=version)
