"""Writes a one-node model that reads or writes through indices, and .npy index inputs:
indexing_models.py OP DIR writes DIR/OP.onnx and DIR/<case>.npy for every case below.

Data is an initializer; the indices (and a scatter's updates) are inputs with dynamic
leading dimensions of different names, so that only the program can check them. The node is named after OP in
lower case, so that messages name it.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

op, folder = sys.argv[1], sys.argv[2]
data = np.arange(12, dtype=np.float32).reshape(4, 3)
# op: (attributes, indices shape, updates shape or None, output shape)
specs = {
    "Gather": ({}, ["n"], None, ["n", 3]),
    "GatherElements": ({"axis": 0}, ["n", 3], None, ["n", 3]),
    "GatherND": ({}, ["n", 2], None, ["n"]),
    "ScatterElements": ({"axis": 0}, ["n", 3], ["m", 3], [4, 3]),
    "ScatterND": ({}, ["n", 1], ["m", 3], [4, 3]),
}
attributes, indices_shape, updates_shape, output_shape = specs[op]
inputs = [helper.make_tensor_value_info("indices", TensorProto.INT64, indices_shape)]
node_inputs = ["data", "indices"]
if updates_shape:
    inputs.append(helper.make_tensor_value_info("updates", TensorProto.FLOAT, updates_shape))
    node_inputs.append("updates")
graph = helper.make_graph(
    [helper.make_node(op, node_inputs, ["y"], name=op.lower(), **attributes)], op.lower(), inputs,
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
    [numpy_helper.from_array(data, "data")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
model.ir_version = 8
save(model, os.path.join(folder, op + ".onnx"))


def indices(rows):
    """Index rows shaped for the op: scalars, rows of 3 or pairs (GatherND)."""
    array = np.array(rows, dtype=np.int64)
    if indices_shape[1:] == [3]:
        return np.repeat(array[:, None], 3, axis=1)
    if indices_shape[1:] == [2]:
        return np.stack([array, np.zeros_like(array)], axis=1)
    if indices_shape[1:] == [1]:
        return array[:, None]
    return array


cases = {"valid": [0, -1, 3, -4], "ten": [1, 10], "huge": [100000000], "minus-eleven": [0, -11],
         "minus-five": [-5]}
for case, rows in cases.items():
    np.save(os.path.join(folder, case + ".npy"), indices(rows))
    if updates_shape:
        np.save(os.path.join(folder, case + "-updates.npy"),
                np.ones((len(rows), 3), dtype=np.float32))
