"""Compiles an ONNX model with the moec package and runs it on a batch of ones.
Usage: python run.py MODEL.onnx"""
import sys

import numpy as np

import moec

try:
    model = moec.load(moec.compile(sys.argv[1], emit="lib"))
except moec.CompileError as error:
    sys.exit(str(error))
print(model.info)
# Dynamic dimensions (names, not sizes) become 2 here.
inputs = {info.name: np.ones([d if isinstance(d, int) else 2 for d in info.shape], np.float32)
          for info in model.info["inputs"]}
for name, value in model(**inputs).items():
    print(name, value.shape, value.dtype, float(value.sum()))
