"""Compiles the model given to a shared library with moec and runs it on 3 tokens."""
import sys

import numpy as np

import moec

print("package:", moec.__file__)
model = moec.load(moec.compile(sys.argv[1], "model.so"))
print("target:", model.info["target"])
for info in model.info["inputs"]:
    print("input:", info.dtype, info.shape)
inputs = {info.name: np.ones([3] + list(info.shape[1:]), np.float32)
          for info in model.info["inputs"]}
for name, value in model(**inputs).items():
    print("output:", value.dtype, value.shape)
