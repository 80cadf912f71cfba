"""Writes quantized models in forms moec does not compile to the folder given, each one of
test/models/quantized's fixtures with one attribute or input changed: NAME.onnx for each
NAME in CASES."""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "models", "quantized")


def prepacked_qmoe(model):
    """QMoE with its experts in an execution provider's prepacked layout."""
    model.graph.node[0].attribute.append(helper.make_attribute("weights_prepacked", 1))


def matmul_nbits_g_idx(model):
    """MatMulNBits with act-order (g_idx: each row of K's block)."""
    node = model.graph.node[0]
    k = next(a.i for a in node.attribute if a.name == "K")
    block = next(a.i for a in node.attribute if a.name == "block_size")
    model.graph.initializer.append(
        numpy_helper.from_array(np.arange(k, dtype=np.int32) // block, "g_idx"))
    while len(node.input) < 4:
        node.input.append("")
    node.input.append("g_idx")


CASES = {
    "prepacked_qmoe": ("qmoe_int4_b32_sym_silu", prepacked_qmoe),
    "matmul_nbits_g_idx": ("matmul_nbits_int4_b32_sym", matmul_nbits_g_idx),
}

os.makedirs(sys.argv[1], exist_ok=True)
for name, (fixture, change) in CASES.items():
    model = onnx.load(os.path.join(FIXTURES, fixture + ".onnx"))
    change(model)
    onnx.save(model, os.path.join(sys.argv[1], name + ".onnx"))
