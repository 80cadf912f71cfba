"""Writes a model whose outputs are float reductions over a long last axis, each on its own
output: ReduceSum, ReduceMean, ReduceMax, Softmax, an RMSNorm (x / sqrt(mean(x^2) + eps) * w)
and a LayerNormalization. The axis (1000) is not a multiple of any vector width, so that
vectorized loops have remainders.

    reductions.py OUT.onnx
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper


def main():
    hidden = 1000
    rng = np.random.default_rng(0)
    weights = {
        "axes": np.array([-1], np.int64),
        "eps": np.array(1e-6, np.float32),
        "scale": rng.standard_normal(hidden).astype(np.float32),
        "bias": rng.standard_normal(hidden).astype(np.float32),
    }
    nodes = [
        helper.make_node("ReduceSum", ["x", "axes"], ["sum"], keepdims=0),
        helper.make_node("ReduceMean", ["x", "axes"], ["mean"]),
        helper.make_node("ReduceMax", ["x", "axes"], ["max"]),
        helper.make_node("Softmax", ["x"], ["softmax"], axis=-1),
        helper.make_node("Mul", ["x", "x"], ["squares"]),
        helper.make_node("ReduceMean", ["squares", "axes"], ["mean_square"]),
        helper.make_node("Add", ["mean_square", "eps"], ["shifted"]),
        helper.make_node("Sqrt", ["shifted"], ["rms"]),
        helper.make_node("Div", ["x", "rms"], ["normalized"]),
        helper.make_node("Mul", ["normalized", "scale"], ["rms_norm"]),
        helper.make_node("LayerNormalization", ["x", "scale", "bias"], ["layer_norm"], axis=-1),
    ]
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
               for name in ("sum", "mean", "max", "softmax", "rms_norm", "layer_norm")]
    graph = helper.make_graph(
        nodes, "reductions",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "seq", hidden])],
        outputs, [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    with open(sys.argv[1], "wb") as f:
        f.write(model.SerializeToString())


if __name__ == "__main__":
    main()
