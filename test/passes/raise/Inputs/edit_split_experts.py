"""Writes a look-alike of JetMoE's experts on the parts of a Split that computes something else.

usage: edit_split_experts.py FIXTURE.onnx OUT.onnx EDIT, EDIT one of
  swapped-counts  the Split gives expert 0 as many rows as expert 1 has, and expert 1 as many
                  as expert 0 has;
  swapped-parts   the first two experts' up projections run on each other's part;
  pair-index      the rows are added at their pairs' positions, not at their tokens.
"""

import sys

import onnx

fixture, out, edit = sys.argv[1:]
model = onnx.load(fixture)
graph = model.graph
producer = {output: node for node in graph.node for output in node.output}
scatter = next(n for n in graph.node if n.op_type == "ScatterND")
# The up projections: a Concat of Gemms on the parts of a Split of the gathered tokens.
up_concat = next(n for n in graph.node if n.op_type == "Concat" and
                 producer.get(n.input[0]) is not None and producer[n.input[0]].op_type == "Gemm")
first, second = (producer[name] for name in up_concat.input[:2])
split = producer[first.input[0]]

if edit == "swapped-counts":
    counts = producer[split.input[1]]
    counts.input[0], counts.input[1] = counts.input[1], counts.input[0]
elif edit == "swapped-parts":
    first.input[0], second.input[0] = second.input[0], first.input[0]
elif edit == "pair-index":
    # The weights are gathered at Unsqueeze(sort order): add the rows there too.
    mul = producer[producer[scatter.input[2]].input[0]]
    weights = next(producer[name] for name in mul.input if producer[name].op_type == "Unsqueeze")
    scatter.input[1] = producer[weights.input[0]].input[1]
else:
    sys.exit(f"unknown edit {edit}")
onnx.save(model, out)
