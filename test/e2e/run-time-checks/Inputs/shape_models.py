"""Writes a one-node model whose shapes or parameters come from its inputs, and .npy inputs
that break what the op's spec requires: shape_models.py CASE DIR writes DIR/CASE.onnx and
DIR/<input name>.npy. The node is named after the case, so that messages name it.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, save

case, folder = sys.argv[1], sys.argv[2]
I64, F32 = TensorProto.INT64, TensorProto.FLOAT
# case: (op, {input: (elem type, shape, value)}, attributes, output type, output shape)
cases = {
    "add-broadcast": ("Add", {"a": (F32, ["n"], np.ones(3, np.float32)),
                              "b": (F32, ["m"], np.ones(2, np.float32))}, {}, F32, None),
    "slice-step-zero": ("Slice", {"x": (F32, ["n", 3], np.ones((4, 3), np.float32)),
                                  "starts": (I64, [1], np.array([0])),
                                  "ends": (I64, [1], np.array([2])),
                                  "axes": (I64, [1], np.array([0])),
                                  "steps": (I64, [1], np.array([0]))}, {}, F32, None),
    "slice-axis": ("Slice", {"x": (F32, ["n", 3], np.ones((4, 3), np.float32)),
                             "starts": (I64, [1], np.array([0])),
                             "ends": (I64, [1], np.array([2])),
                             "axes": (I64, [1], np.array([7]))}, {}, F32, None),
    "cumsum-axis": ("CumSum", {"x": (F32, ["n", 3], np.ones((4, 3), np.float32)),
                               "axis": (I64, [], np.array(7))}, {}, F32, None),
    "range-delta-zero": ("Range", {"start": (I64, [], np.array(0)),
                                   "limit": (I64, [], np.array(5)),
                                   "delta": (I64, [], np.array(0))}, {}, I64, None),
    "reshape-count": ("Reshape", {"x": (F32, ["n"], np.ones(8, np.float32)),
                                  "shape": (I64, [2], np.array([3, 3]))}, {}, F32, None),
    "matmul-inner": ("MatMul", {"a": (F32, [2, "k"], np.ones((2, 3), np.float32)),
                                "b": (F32, ["m", 2], np.ones((5, 2), np.float32))}, {}, F32,
                     None),
    "split-sizes": ("Split", {"x": (F32, ["n"], np.ones(5, np.float32)),
                              "split": (I64, [2], np.array([2, 2]))}, {}, F32, None),
    "topk-k": ("TopK", {"x": (F32, ["n"], np.ones(4, np.float32)),
                        "k": (I64, [1], np.array([10]))}, {}, F32, None),
    # Declared [4, 3], computed [m, 3]: one row of indices must not read four.
    "declared-output-dims": ("GatherElements", {"data": (F32, ["n", 3], np.ones((1, 3), np.float32)),
                                                "indices": (I64, ["m", 3], np.zeros((1, 3), np.int64))},
                             {"axis": 0}, F32, [4, 3]),
    "constant-of-shape-huge": ("ConstantOfShape", {"shape": (I64, [2], np.array([2**20, 2**20]))},
                               {}, F32, None),
}
op, inputs, attributes, output_type, output_shape = cases[case]
outputs = {"Split": ["y", "z"], "TopK": ["y", "z"]}.get(op, ["y"])
graph = helper.make_graph(
    [helper.make_node(op, list(inputs), outputs, name=case, **attributes)], case,
    [helper.make_tensor_value_info(name, elem, shape) for name, (elem, shape, _) in inputs.items()],
    [helper.make_tensor_value_info(name, I64 if (op, name) == ("TopK", "z") else output_type,
                                   output_shape) for name in outputs])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
model.ir_version = 8
save(model, os.path.join(folder, case + ".onnx"))
for name, (_, _, value) in inputs.items():
    np.save(os.path.join(folder, name + ".npy"), value)
