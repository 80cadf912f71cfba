"""Writes a look-alike of a real export's router that computes something else.

usage: edit_router.py FIXTURE.onnx OUT.onnx EDIT

EDIT is one of:
- scatter-into-zeros: Llama 4's top-k logits are scattered into zeros, not -inf, before
  their Sigmoid: the experts not chosen get their tokens times 1/2, not times 0.
- log-softplus: DeepSeek-V4's Sqrt of the softplus scores becomes a Log.
- mask-to-half: AXK-2's Where that masks the other groups' experts to 0 masks them to 0.5.
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

fixture, out, edit = sys.argv[1:]
model = onnx.load(fixture)
nodes = model.graph.node
if edit == "scatter-into-zeros":
    scatter = next(n for n in nodes if n.op_type == "ScatterElements")
    fill = next(n for n in nodes if n.output[0] == scatter.input[0])
    zero = numpy_helper.from_array(np.zeros((), dtype=np.float32), "scatter_fill_zero")
    if fill.op_type == "Expand":
        model.graph.initializer.append(zero)
        fill.input[0] = zero.name
    else:
        fill.attribute[0].t.CopyFrom(numpy_helper.from_array(np.zeros(1, np.float32)))
elif edit == "log-softplus":
    node = next(n for n in nodes if n.op_type == "Sqrt")
    node.op_type = "Log"
elif edit == "mask-to-half":
    topk_inputs = {n.input[0] for n in nodes if n.op_type == "TopK"}
    where = next(n for n in nodes if n.op_type == "Where" and n.output[0] in topk_inputs)
    half = numpy_helper.from_array(np.asarray(0.5, dtype=np.float32), "mask_fill_half")
    model.graph.initializer.append(half)
    # The filled value is the one of the two that is a scalar constant.
    constants = {i.name for i in model.graph.initializer} | {
        n.output[0] for n in nodes if n.op_type == "Constant"}
    fill = 1 if where.input[1] in constants else 2
    where.input[fill] = half.name
else:
    sys.exit(f"unknown edit {edit!r}")
onnx.save(model, out)
