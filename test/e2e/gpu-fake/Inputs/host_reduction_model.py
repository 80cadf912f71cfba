"""Writes an ONNX model whose GPU code waits mid-run: y = relu(x) / sum(relu(x)), whose full
reduction to a scalar runs on the host between two kernels.

usage: host_reduction_model.py OUT.onnx
"""
import sys

import onnx
from onnx import TensorProto, helper


def main():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("ReduceSum", ["r"], ["s"], name="total", keepdims=0),
        helper.make_node("Div", ["r", "s"], ["y"], name="normalize"),
    ]
    graph = helper.make_graph(nodes, "host_reduction", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), sys.argv[1])


if __name__ == "__main__":
    main()
