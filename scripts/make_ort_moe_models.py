#!/usr/bin/env python3
"""Writes small onnxruntime com.microsoft.MoE models, as onnxruntime's own tests build them.

    make_ort_moe_models.py OUT_DIR

Every model has graph inputs `input` ([tokens, hidden], or [batch, seq, hidden]) and
`router_probs` ([tokens, experts], logits: onnxruntime takes the softmax), one MoE node of
domain com.microsoft (no opset_import entry for it, like onnxruntime's tests), and its
weights as initializers (seeded, deterministic). scripts/ort_moe_reference.py and the
tests in test/passes/raise and test/e2e use them. MODELS lists them with their attributes.
"""
import argparse
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

OPSET = 17
HIDDEN = 16
INTER = 32

GPT_OSS_SWIGLU = dict(activation_type="swiglu", activation_alpha=1.702, activation_beta=1.0,
                      swiglu_limit=7.0)

# name: (MoE attributes, experts, options). Options: "bias" (fc1/fc2/fc3 biases), "legacy"
# (the older [E, hidden, inter] / [E, inter, hidden] weight layout), "batched" (a 3-D input).
MODELS = {
    "relu_k1": (dict(k=1, activation_type="relu"), 4, {"bias"}),
    "gelu_k2_norm": (dict(k=2, activation_type="gelu", normalize_routing_weights=1), 8, set()),
    "silu_k4_norm": (dict(k=4, activation_type="silu", normalize_routing_weights=1), 8,
                     {"bias"}),
    "swiglu_fusion0": (dict(k=2, swiglu_fusion=0, **GPT_OSS_SWIGLU), 4, {"bias"}),
    "swiglu_fusion1": (dict(k=2, swiglu_fusion=1, **GPT_OSS_SWIGLU), 4, {"bias"}),
    "swiglu_fusion2": (dict(k=2, swiglu_fusion=2, **GPT_OSS_SWIGLU), 4, {"bias"}),
    "swiglu_silu": (dict(k=2, activation_type="swiglu", swiglu_fusion=1,
                         normalize_routing_weights=1), 8, set()),
    "relu_legacy": (dict(k=2, activation_type="relu"), 4, {"bias", "legacy"}),
    "swiglu_legacy": (dict(k=2, swiglu_fusion=1, **GPT_OSS_SWIGLU), 4, {"legacy"}),
    "silu_batched": (dict(k=2, activation_type="silu", normalize_routing_weights=1), 4,
                     {"batched"}),
    "sparse_mixer": (dict(k=2, activation_type="relu", use_sparse_mixer=1), 8, set()),
}


def weights_for(attrs, experts, options, rng):
    """The MoE node's weight inputs by input name, in the layout `options` asks for."""
    swiglu = attrs.get("activation_type") == "swiglu"
    fused = swiglu and attrs.get("swiglu_fusion", 0) != 0
    fc1_out = 2 * INTER if fused else INTER
    legacy = "legacy" in options

    def projection(inputs, outputs):
        shape = (experts, inputs, outputs) if legacy else (experts, outputs, inputs)
        return (rng.standard_normal(shape) / np.sqrt(inputs)).astype(np.float32)

    def bias(outputs):
        return (0.1 * rng.standard_normal((experts, outputs))).astype(np.float32)

    weights = {"fc1_experts_weights": projection(HIDDEN, fc1_out)}
    if "bias" in options:
        weights["fc1_experts_bias"] = bias(fc1_out)
    weights["fc2_experts_weights"] = projection(INTER, HIDDEN)
    if "bias" in options:
        weights["fc2_experts_bias"] = bias(HIDDEN)
    if swiglu and not fused:
        weights["fc3_experts_weights"] = projection(HIDDEN, INTER)
        if "bias" in options:
            weights["fc3_experts_bias"] = bias(INTER)
    return weights


INPUT_ORDER = ["input", "router_probs", "fc1_experts_weights", "fc1_experts_bias",
               "fc2_experts_weights", "fc2_experts_bias", "fc3_experts_weights",
               "fc3_experts_bias"]


def moe_model(name, attrs, experts, options, weights):
    """A graph of one com.microsoft.MoE node over `weights` (initializers)."""
    available = {"input", "router_probs", *weights}
    inputs = [n if n in available else "" for n in INPUT_ORDER]
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node("MoE", inputs, ["output"], name=name + "/MoE",
                            domain="com.microsoft", **attrs)
    if "batched" in options:
        tokens_shape, rows = ["batch", "seq", HIDDEN], "rows"
    else:
        tokens_shape, rows = ["tokens", HIDDEN], "tokens"
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, tokens_shape),
         helper.make_tensor_value_info("router_probs", TensorProto.FLOAT, [rows, experts])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, tokens_shape)],
        [numpy_helper.from_array(value, key) for key, value in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="moec/scripts/make_ort_moe_models.py")
    model.ir_version = 8
    return model


def build(name, seed):
    attrs, experts, options = MODELS[name]
    rng = np.random.default_rng(seed)
    return moe_model(name, attrs, experts, options, weights_for(attrs, experts, options, rng))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for seed, name in enumerate(MODELS):
        save(build(name, seed), os.path.join(args.out_dir, name + ".onnx"))


if __name__ == "__main__":
    main()
