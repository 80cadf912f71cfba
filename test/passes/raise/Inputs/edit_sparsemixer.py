"""Writes a variant of a transformers PhiMoE export whose SparseMixer router differs.

usage: edit_sparsemixer.py FIXTURE.onnx OUT.onnx EDIT, EDIT one of
  jitter-eps        both masks 2 * 0.01 wide (router_jitter_noise = 0.01, Phi-3.5-MoE's),
                    still SparseMixer;
  wide-eps          both masks 2 * 0.25 wide: each keeps the logits within half the
                    magnitude of the chosen one, so its weight is seldom 1;
  second-eps        the second choice's mask is 2 * 0.05 wide, the first's 2 * 0.01;
  greater-or-equal  the first mask keeps only the logits strictly within the width
                    (GreaterOrEqual instead of Greater), which no #moe.routing describes.
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

fixture, out, edit = sys.argv[1:]
model = onnx.load(fixture)
graph = model.graph
# The mask tests, Greater(Div(Sub(max, logits), Max(Abs(logits), max)), 2 * eps), in order.
producer = {output: node for node in graph.node for output in node.output}
masks = [n for n in graph.node if n.op_type == "Greater" and
         producer.get(n.input[0]) is not None and producer[n.input[0]].op_type == "Div"]
assert len(masks) == 2, f"expected SparseMixer's two mask tests, found {len(masks)}"


def set_width(mask, eps):
    width = numpy_helper.from_array(np.array(2 * eps, np.float32), mask.name + "_width")
    graph.initializer.append(width)
    mask.input[1] = width.name


if edit == "jitter-eps":
    for mask in masks:
        set_width(mask, 0.01)
elif edit == "wide-eps":
    for mask in masks:
        set_width(mask, 0.25)
elif edit == "second-eps":
    set_width(masks[0], 0.01)
    set_width(masks[1], 0.05)
elif edit == "greater-or-equal":
    masks[0].op_type = "GreaterOrEqual"
else:
    sys.exit(f"unknown edit {edit}")
onnx.save(model, out)
