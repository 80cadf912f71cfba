"""Writes zero_weight.onnx to the folder given: y = x @ W + b, x [n, 4096], W a 4096x4096
float32 matrix of zeros (64 MiB, external data) and b = arange(4096)."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

hidden = 4096
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "W"], ["t"]), helper.make_node("Add", ["t", "b"], ["y"])],
    "zero_weight", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", hidden])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", hidden])],
    [numpy_helper.from_array(np.zeros((hidden, hidden), np.float32), "W"),
     numpy_helper.from_array(np.arange(hidden, dtype=np.float32), "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, os.path.join(sys.argv[1], "zero_weight.onnx"), save_as_external_data=True,
          location="zero_weight.data", size_threshold=1024)
