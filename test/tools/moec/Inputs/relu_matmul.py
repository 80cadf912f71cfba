"""Writes relu_matmul.onnx to the folder given: y = relu(x @ w), x [n, 4], w = arange(12) / 10
as a 4x3 matrix (the model the runtime's stand-in models implement by hand)."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
    "relu_matmul", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
    [numpy_helper.from_array(w, "w")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
save(model, os.path.join(sys.argv[1], "relu_matmul.onnx"))
