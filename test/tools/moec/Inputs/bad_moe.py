"""Writes com.microsoft.MoE models whose expert weights disagree with each other, one per
case, to the folder given: NAME.onnx for each NAME in CASES. Each is the same small layer
(4 experts, hidden 8, inter 16, top-2 ReLU with biases, or SwiGLU with fc3 for the fc3
cases) with one weight's shape changed; onnxruntime refuses every one of them."""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

EXPERTS, HIDDEN, INTER = 4, 8, 16

# name: (the shapes that differ from a consistent layer, whether the layer is gated (fc3)).
CASES = {
    "fc2_experts": ({"fc2_experts_weights": (EXPERTS - 1, HIDDEN, INTER)}, False),
    "fc1_hidden": ({"fc1_experts_weights": (EXPERTS, INTER, HIDDEN + 1)}, False),
    "fc1_bias_inter": ({"fc1_experts_bias": (EXPERTS, INTER - 1)}, False),
    "fc2_bias_experts": ({"fc2_experts_bias": (EXPERTS + 1, HIDDEN)}, False),
    "fc3_inter": ({"fc3_experts_weights": (EXPERTS, INTER * 2, HIDDEN)}, True),
}


def layer(name, changed, gated):
    shapes = {"router_probs": ("tokens", EXPERTS),
              "fc1_experts_weights": (EXPERTS, INTER, HIDDEN),
              "fc1_experts_bias": (EXPERTS, INTER),
              "fc2_experts_weights": (EXPERTS, HIDDEN, INTER),
              "fc2_experts_bias": (EXPERTS, HIDDEN)}
    if gated:
        shapes["fc3_experts_weights"] = (EXPERTS, INTER, HIDDEN)
    shapes.update(changed)
    weights = [numpy_helper.from_array(np.full(shape, 0.01, np.float32), key)
               for key, shape in shapes.items() if key != "router_probs"]
    inputs = ["input", "router_probs", "fc1_experts_weights", "fc1_experts_bias",
              "fc2_experts_weights", "fc2_experts_bias"]
    attrs = dict(k=2, activation_type="relu")
    if gated:
        inputs.append("fc3_experts_weights")
        attrs = dict(k=2, activation_type="swiglu", swiglu_fusion=0, activation_alpha=1.0,
                     activation_beta=0.0)
    node = helper.make_node("MoE", inputs, ["output"], name=name + "/MoE",
                            domain="com.microsoft", **attrs)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["tokens", HIDDEN]),
         helper.make_tensor_value_info("router_probs", TensorProto.FLOAT,
                                       list(shapes["router_probs"]))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["tokens", HIDDEN])],
        weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


if __name__ == "__main__":
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, (changed, gated) in CASES.items():
        save(layer(name, changed, gated), os.path.join(sys.argv[1], name + ".onnx"))
