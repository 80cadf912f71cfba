#!/usr/bin/env python3
"""Writes the bundled example models in examples/ (deterministic: fixed seeds).

    make_examples.py [OUT_DIR]

- ffn_block.onnx: a transformer feed-forward block as PyTorch's exporter writes it
  (MatMul + bias, erf-GELU spelled out, MatMul + bias, residual add), with dynamic batch
  and sequence dimensions.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

OPSET = 17


def ffn_block(hidden=64, inner=256, seed=0):
    rng = np.random.default_rng(seed)
    weights = {
        "fc1.weight": rng.standard_normal((hidden, inner)).astype(np.float32) / np.sqrt(hidden),
        "fc1.bias": rng.standard_normal(inner).astype(np.float32) * 0.1,
        "fc2.weight": rng.standard_normal((inner, hidden)).astype(np.float32) / np.sqrt(inner),
        "fc2.bias": rng.standard_normal(hidden).astype(np.float32) * 0.1,
        "sqrt2": np.array(np.sqrt(2.0), np.float32),
        "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32),
    }
    node = helper.make_node
    nodes = [
        node("MatMul", ["x", "fc1.weight"], ["h0"], name="fc1/MatMul"),
        node("Add", ["h0", "fc1.bias"], ["h1"], name="fc1/Add"),
        node("Div", ["h1", "sqrt2"], ["g0"], name="gelu/Div"),
        node("Erf", ["g0"], ["g1"], name="gelu/Erf"),
        node("Add", ["g1", "one"], ["g2"], name="gelu/Add"),
        node("Mul", ["h1", "g2"], ["g3"], name="gelu/Mul"),
        node("Mul", ["g3", "half"], ["g4"], name="gelu/Mul_1"),
        node("MatMul", ["g4", "fc2.weight"], ["o0"], name="fc2/MatMul"),
        node("Add", ["o0", "fc2.bias"], ["o1"], name="fc2/Add"),
        node("Add", ["o1", "x"], ["y"], name="residual/Add"),
    ]
    graph = helper.make_graph(
        nodes, "ffn_block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", hidden])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="moec/scripts/make_examples.py")
    model.ir_version = 8
    return model


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "examples")
    os.makedirs(out, exist_ok=True)
    save(ffn_block(), os.path.join(out, "ffn_block.onnx"))


if __name__ == "__main__":
    main()
