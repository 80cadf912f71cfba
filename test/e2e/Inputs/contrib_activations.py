"""Writes a model of onnxruntime's Gelu-family contrib ops, each on its own output:
Gelu(x), BiasGelu(x, b), FastGelu(x, b), FastGelu(x), QuickGelu(x) with alpha 1.5.

    contrib_activations.py OUT.onnx
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def main():
    hidden = 16
    nodes = [
        helper.make_node("Gelu", ["x"], ["gelu"], domain="com.microsoft"),
        helper.make_node("BiasGelu", ["x", "b"], ["bias_gelu"], domain="com.microsoft"),
        helper.make_node("FastGelu", ["x", "b"], ["fast_gelu_bias"], domain="com.microsoft"),
        helper.make_node("FastGelu", ["x"], ["fast_gelu"], domain="com.microsoft"),
        helper.make_node("QuickGelu", ["x"], ["quick_gelu"], domain="com.microsoft", alpha=1.5),
    ]
    outputs = [helper.make_tensor_value_info(n.output[0], TensorProto.FLOAT, None) for n in nodes]
    bias = np.random.default_rng(0).standard_normal(hidden).astype(np.float32)
    graph = helper.make_graph(
        nodes, "contrib_activations",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", hidden])],
        outputs, [numpy_helper.from_array(bias, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 9
    with open(sys.argv[1], "wb") as f:
        f.write(model.SerializeToString())


if __name__ == "__main__":
    main()
