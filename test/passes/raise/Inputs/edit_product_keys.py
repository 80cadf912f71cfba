"""Writes look-alikes of Doge's product-key MoE (scripts/make_product_key_models.py's
TorchScript block) that compute something else, by what MODE changes:

- partial-sort: the keys' TopK keeps n - 1 of each half's n keys, so pairs with a half's
  smallest key are never chosen;
- swapped-digits: the experts' ids take the row digit from the column half's indices;
- no-activation: the experts' outputs are weighed without their activation.

usage: edit_product_keys.py MODE FIXTURE.onnx OUT.onnx
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper


def node_of_type(model, op_type, index=0):
    return [n for n in model.graph.node if n.op_type == op_type][index]


def producer(model, output):
    return next(n for n in model.graph.node if output in n.output)


mode, fixture, out = sys.argv[1:]
model = onnx.load(fixture)
if mode == "partial-sort":
    keys = node_of_type(model, "TopK", 0)
    k = numpy_helper.to_array(producer(model, keys.input[1]).attribute[0].t)
    smaller = numpy_helper.from_array(np.asarray(k - 1, dtype=k.dtype), "keys_kept")
    model.graph.initializer.append(smaller)
    keys.input[1] = smaller.name
elif mode == "swapped-digits":
    ids = node_of_type(model, "Add", 1)
    row = producer(model, producer(model, ids.input[0]).input[0])
    column = producer(model, ids.input[1])
    row.input[0], column.input[0] = column.input[0], row.input[0]
elif mode == "no-activation":
    weighted = next(n for n in model.graph.node if n.op_type == "Mul" and
                    any(producer(model, i).op_type == "Softmax" for i in n.input))
    activated = next(i for i in weighted.input if producer(model, i).op_type != "Softmax")
    weighted.input[list(weighted.input).index(activated)] = producer(model, activated).input[0]
else:
    sys.exit(f"unknown mode {mode}")
onnx.save(model, out)
