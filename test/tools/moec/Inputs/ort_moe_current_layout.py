"""Writes a com.microsoft.MoE layer in onnxruntime's current layout (fc1 [E, inter, hidden],
fc2 [E, hidden, inter]) whose weights are large enough (2 MiB each) that raising transposes
them in a temporary file (docs/raising.md, "Rearranged weights").

    ort_moe_current_layout.py OUT.onnx
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

EXPERTS, HIDDEN, INTER = 4, 256, 512


def main(path):
    rng = np.random.default_rng(3)
    fc1 = rng.standard_normal((EXPERTS, INTER, HIDDEN), np.float32) / np.float32(HIDDEN ** 0.5)
    fc2 = rng.standard_normal((EXPERTS, HIDDEN, INTER), np.float32) / np.float32(INTER ** 0.5)
    node = helper.make_node("MoE", ["input", "router_probs", "fc1", "", "fc2"], ["output"],
                            name="moe", domain="com.microsoft", k=2, activation_type="relu")
    graph = helper.make_graph(
        [node], "ort_moe_current_layout",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["tokens", HIDDEN]),
         helper.make_tensor_value_info("router_probs", TensorProto.FLOAT,
                                       ["tokens", EXPERTS])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["tokens", HIDDEN])],
        [numpy_helper.from_array(fc1, "fc1"), numpy_helper.from_array(fc2, "fc2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    save(model, path)


if __name__ == "__main__":
    main(sys.argv[1])
