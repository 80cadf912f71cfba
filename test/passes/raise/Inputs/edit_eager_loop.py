"""Writes a look-alike of a transformers 5 `eager` loop over experts (TorchScript export)
that computes something else: the first iteration's gate/up projection takes the matrix of
the expert the second iteration visits.

usage: edit_eager_loop.py FIXTURE.onnx OUT.onnx
"""

import sys

import onnx

fixture, out = sys.argv[1:]
model = onnx.load(fixture)
stacks = {i.name for i in model.graph.initializer if len(i.dims) == 3 and "gate_up" in i.name}
first, second = [n for n in model.graph.node if n.op_type == "Gather" and n.input[0] in stacks][:2]
first.input[1] = second.input[1]
onnx.save(model, out)
