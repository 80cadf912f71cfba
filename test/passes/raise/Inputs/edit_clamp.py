"""Writes a look-alike of DeepSeek-V4's / HY-V4's clamped SwiGLU experts that computes
something else: the up is clamped to [-limit / 2, limit] instead of [-limit, limit], which
no `#moe.expert` activation computes.

usage: edit_clamp.py FIXTURE.onnx OUT.onnx
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

def constant(model, name):
    """The value of an initializer or a Constant node's output."""
    for initializer in model.graph.initializer:
        if initializer.name == name:
            return numpy_helper.to_array(initializer)
    node = next(n for n in model.graph.node if n.op_type == "Constant" and n.output[0] == name)
    return numpy_helper.to_array(node.attribute[0].t)


fixture, out = sys.argv[1:]
model = onnx.load(fixture)
up_clip = next(n for n in model.graph.node
               if n.op_type == "Clip" and len(n.input) == 3 and n.input[1])
limit = constant(model, up_clip.input[2])
low = numpy_helper.from_array(np.asarray(-limit / 2, dtype=limit.dtype), "up_clip_low")
model.graph.initializer.append(low)
up_clip.input[1] = low.name
onnx.save(model, out)
