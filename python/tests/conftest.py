import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


@pytest.fixture
def relu_matmul():
    """A small model and its reference: y = Relu(x @ w), x: float32 [tokens, 4]."""
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.5
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="matmul"),
         helper.make_node("Relu", ["h"], ["y"], name="relu")],
        "relu_matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["tokens", 3])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model, lambda x: np.maximum(x @ w, 0)
