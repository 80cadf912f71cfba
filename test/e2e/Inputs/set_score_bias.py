"""Writes a copy of an MoE export whose router's score-correction bias is VALUES.

usage: set_score_bias.py MODEL.onnx OUT.onnx V0,V1,...

The bias is the [E] constant initializer added to the router's scores (DeepSeek-V3's
`scores + e_score_correction_bias`, an Add right after the scoring Sigmoid or Sqrt).
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

model_path, out = sys.argv[1], sys.argv[2]
values = [float(v) for v in sys.argv[3].split(",")]
model = onnx.load(model_path)
graph = model.graph
scores = {output for node in graph.node if node.op_type in ("Sigmoid", "Sqrt")
          for output in node.output}
initializers = {init.name: init for init in graph.initializer}
add = next(node for node in graph.node if node.op_type == "Add" and node.input[0] in scores
           and node.input[1] in initializers)
old = initializers[add.input[1]]
dtype = numpy_helper.to_array(old).dtype
assert numpy_helper.to_array(old).shape == (len(values),), "one value per expert"
old.CopyFrom(numpy_helper.from_array(np.array(values, dtype=dtype), old.name))
onnx.save(model, out)
