#!/usr/bin/env python3
"""Writes the bundled example models in examples/ (deterministic: fixed seeds).

    make_examples.py [OUT_DIR]                  # the bundled examples
    make_examples.py --model NAME --output PATH  # one model by its builder's name

- ffn_block.onnx: a transformer feed-forward block as PyTorch's exporter writes it
  (MatMul + bias, erf-GELU spelled out, MatMul + bias, residual add), with dynamic batch
  and sequence dimensions.

attention_block() builds a pre-norm self-attention block (LayerNormalization, Q/K/V
projections, heads split with Reshape/Transpose, scaled Softmax attention, output
projection, residual add) with dynamic batch and sequence, for the end-to-end tests and the
benchmarks; it is not bundled.
"""
import argparse
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

OPSET = 17


def block_model(name, nodes, weights, hidden):
    """A model from x [batch, seq, hidden] to y of the same shape."""
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", hidden])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="moec/scripts/make_examples.py")
    model.ir_version = 8
    return model


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
    return block_model("ffn_block", nodes, weights, hidden)


def attention_block(hidden=64, heads=4, seed=1):
    rng = np.random.default_rng(seed)
    head = hidden // heads
    weights = {"ln.weight": 1 + 0.1 * rng.standard_normal(hidden).astype(np.float32),
               "ln.bias": 0.1 * rng.standard_normal(hidden).astype(np.float32),
               "scale": np.array(np.sqrt(head), np.float32),
               "heads_shape": np.array([0, 0, heads, head], np.int64),
               "merged_shape": np.array([0, 0, hidden], np.int64)}
    for name in ("q", "k", "v", "o"):
        weights[f"{name}.weight"] = (rng.standard_normal((hidden, hidden)) /
                                     np.sqrt(hidden)).astype(np.float32)
    node = helper.make_node
    nodes = [node("LayerNormalization", ["x", "ln.weight", "ln.bias"], ["n"], name="ln",
                  axis=-1, epsilon=1e-5)]
    for name in ("q", "k", "v"):
        nodes += [node("MatMul", ["n", f"{name}.weight"], [f"{name}0"], name=f"{name}/MatMul"),
                  node("Reshape", [f"{name}0", "heads_shape"], [f"{name}1"], name=f"{name}/Reshape"),
                  node("Transpose", [f"{name}1"], [f"{name}2"], name=f"{name}/Transpose",
                       perm=[0, 2, 3, 1] if name == "k" else [0, 2, 1, 3])]
    nodes += [
        node("MatMul", ["q2", "k2"], ["s0"], name="scores/MatMul"),
        node("Div", ["s0", "scale"], ["s1"], name="scores/Div"),
        node("Softmax", ["s1"], ["p"], name="softmax", axis=-1),
        node("MatMul", ["p", "v2"], ["a0"], name="context/MatMul"),
        node("Transpose", ["a0"], ["a1"], name="context/Transpose", perm=[0, 2, 1, 3]),
        node("Reshape", ["a1", "merged_shape"], ["a2"], name="context/Reshape"),
        node("MatMul", ["a2", "o.weight"], ["o0"], name="o/MatMul"),
        node("Add", ["o0", "x"], ["y"], name="residual/Add"),
    ]
    return block_model("attention_block", nodes, weights, hidden)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", nargs="?", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
    parser.add_argument("--model", choices=["ffn_block", "attention_block"])
    parser.add_argument("--output")
    args = parser.parse_args()
    if args.model:
        save(globals()[args.model](), args.output)
        return
    os.makedirs(args.out_dir, exist_ok=True)
    save(ffn_block(), os.path.join(args.out_dir, "ffn_block.onnx"))


if __name__ == "__main__":
    main()
