#!/usr/bin/env python3
"""Writes f16_matmuls.onnx into the directory given: float16 MatMuls whose dot products are
long (K = 2048) and sums large, where accumulating in float16 loses several units:
    y = (x + 2) @ W          x [n, 2048], W [2048, 16]
    z = (a + 2) @ B          a [3, n, 2048], B [3, 2048, 8]   (a batched MatMul)
onnxruntime accumulates in float32 and rounds once."""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

K = 2048


def main():
    rng = np.random.default_rng(7)
    initializers = [
        numpy_helper.from_array(rng.uniform(0, 1, (K, 16)).astype(np.float16), "W"),
        numpy_helper.from_array(rng.uniform(0, 1, (3, K, 8)).astype(np.float16), "B"),
        numpy_helper.from_array(np.array(2, np.float16), "two"),
    ]
    nodes = [
        helper.make_node("Add", ["x", "two"], ["x2"], name="shift_x"),
        helper.make_node("MatMul", ["x2", "W"], ["y"], name="matmul"),
        helper.make_node("Add", ["a", "two"], ["a2"], name="shift_a"),
        helper.make_node("MatMul", ["a2", "B"], ["z"], name="batch_matmul"),
    ]
    f16 = TensorProto.FLOAT16
    graph = helper.make_graph(
        nodes, "f16_matmuls",
        [helper.make_tensor_value_info("x", f16, ["n", K]),
         helper.make_tensor_value_info("a", f16, [3, "n", K])],
        [helper.make_tensor_value_info("y", f16, ["n", 16]),
         helper.make_tensor_value_info("z", f16, [3, "n", 8])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(sys.argv[1], "f16_matmuls.onnx"))


if __name__ == "__main__":
    main()
