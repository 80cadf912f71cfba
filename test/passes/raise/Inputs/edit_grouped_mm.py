"""Writes a look-alike of a transformers `grouped_mm` export that computes something else.

usage: edit_grouped_mm.py FIXTURE.onnx OUT.onnx EDIT, EDIT one of
  swapped-experts  the first two experts' up projections multiply each other's matrix;
  descending-sort  the pairs are sorted by descending expert, but the segments still count
                   up from expert 0;
  histc-width      the histogram bins the expert ids two per bin, so the segments are wrong.
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

fixture, out, edit = sys.argv[1:]
model = onnx.load(fixture)
graph = model.graph
producer = {output: node for node in graph.node for output in node.output}
sort = next(n for n in graph.node if n.op_type == "TopK" and
            any(a.name == "largest" and a.i == 0 for a in n.attribute))

if edit == "swapped-experts":
    concat = next(n for n in graph.node if n.op_type == "Concat" and "grouped_mm" in n.name)
    first, second = (producer[name] for name in concat.input[:2])
    first.input[1], second.input[1] = second.input[1], first.input[1]
elif edit == "descending-sort":
    next(a for a in sort.attribute if a.name == "largest").i = 1
elif edit == "histc-width":
    # histc's bin: Clip(Cast(Div(Cast(sorted ids), width)), 0, E - 1).
    clip = next(n for n in graph.node if n.op_type == "Clip" and
                producer[n.input[0]].op_type == "Cast" and
                producer[producer[n.input[0]].input[0]].op_type == "Div")
    div = producer[producer[clip.input[0]].input[0]]
    width = next(i for i in graph.initializer if i.name == div.input[1])
    width.CopyFrom(numpy_helper.from_array(np.array(2.0, np.float32), width.name))
else:
    sys.exit(f"unknown edit {edit}")
onnx.save(model, out)
