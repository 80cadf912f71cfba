"""Writes a copy of an MoE export whose router adds EPSILON to the renormalizing sum.

usage: set_renormalize_epsilon.py MODEL.onnx OUT.onnx EPSILON

The epsilon is the scalar constant initializer added to the ReduceSum of the chosen
weights (LFM2-MoE's `sum + 1e-6`).
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

model_path, out, epsilon = sys.argv[1], sys.argv[2], float(sys.argv[3])
model = onnx.load(model_path)
graph = model.graph
sums = {output for node in graph.node if node.op_type == "ReduceSum" for output in node.output}
initializers = {init.name: init for init in graph.initializer}
add = next(node for node in graph.node if node.op_type == "Add" and node.input[0] in sums
           and node.input[1] in initializers)
old = initializers[add.input[1]]
dtype = numpy_helper.to_array(old).dtype
old.CopyFrom(numpy_helper.from_array(np.array(epsilon, dtype=dtype), old.name))
onnx.save(model, out)
