#!/usr/bin/env python3
"""Shows that raising com.microsoft.MoE into moe.layer is exact, before any backend runs it.

    check_ort_moe_raise.py MODEL.onnx ... [--tokens N ...] [--tolerance T]

For every model: builds moe.layer's operands and attributes from the MoE node the way
moec-raise-ort-moe does (weights into [E, H, N] / [E, I, H], gate columns before up
columns, routing and expert attributes), evaluates moe.layer's semantics on them with numpy,
and compares with onnxruntime on the same random inputs at each token count. onnxruntime's
CPU kernel runs only the current weight layout and interleaved SwiGLU (swiglu_fusion = 1), and
misreads legacy-layout weights; other models are compared with the equivalent model in that
form, derived from the original's weights by onnxruntime's documented semantics. Prints one
line per model and token count; exits 1 if any differs beyond the tolerance.
"""
import argparse
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

INPUT_ORDER = ["input", "router_probs", "fc1_experts_weights", "fc1_experts_bias",
               "fc2_experts_weights", "fc2_experts_bias", "fc3_experts_weights",
               "fc3_experts_bias"]


class MoENode:
    """The MoE node of a model: attributes with onnxruntime's defaults, constant inputs."""

    def __init__(self, model):
        (self.node,) = [n for n in model.graph.node
                        if n.op_type == "MoE" and n.domain == "com.microsoft"]
        self.attrs = {a.name: helper.get_attribute_value(a) for a in self.node.attribute}
        inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.inputs = {INPUT_ORDER[i]: inits[name]
                       for i, name in enumerate(self.node.input) if name in inits}
        self.hidden = model.graph.input[0].type.tensor_type.shape.dim[-1].dim_value

    def attr(self, name, default):
        value = self.attrs.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    @property
    def swiglu(self):
        return self.attr("activation_type", "relu") == "swiglu"

    @property
    def fusion(self):
        return self.attr("swiglu_fusion", 0) if self.swiglu else 0

    @property
    def legacy(self):
        """onnxruntime's test for the legacy layout (moe_helper.h, CheckInputs)."""
        fc2 = self.inputs["fc2_experts_weights"].shape
        inter = fc2[1] * fc2[2] // self.hidden
        fused = self.fusion != 0
        fc1 = self.inputs["fc1_experts_weights"].shape
        return ((self.hidden != inter and fc2[1] == inter) or
                (self.hidden == inter and fused and fc1[1] == self.hidden))

    def projection(self, name):
        """Input `name` as [E, in, out] (moe's orientation), or None."""
        weight = self.inputs.get(name)
        if weight is None or self.legacy:
            return weight
        return weight.transpose(0, 2, 1)

    def gate_and_up(self):
        """(gate or the only up projection, up or None) as [E, H, I], with biases [E, I]."""
        fc1 = self.projection("fc1_experts_weights")
        b1 = self.inputs.get("fc1_experts_bias")
        if self.fusion == 1:
            return (fc1[:, :, 0::2], None if b1 is None else b1[:, 0::2],
                    fc1[:, :, 1::2], None if b1 is None else b1[:, 1::2])
        if self.fusion == 2:
            inter = fc1.shape[2] // 2
            return (fc1[:, :, :inter], None if b1 is None else b1[:, :inter],
                    fc1[:, :, inter:], None if b1 is None else b1[:, inter:])
        return (fc1, b1, self.projection("fc3_experts_weights"),
                self.inputs.get("fc3_experts_bias"))


def raise_to_moe_layer(moe):
    """moe.layer's operands and attributes, as moec-raise-ort-moe builds them."""
    gate, gate_bias, up, up_bias = moe.gate_and_up()
    experts = gate.shape[0]
    gated = up is not None
    layer = {
        "up_weight": np.concatenate([gate, up], axis=2) if gated else gate,
        "down_weight": moe.projection("fc2_experts_weights"),
        "up_bias": None,
        "down_bias": moe.inputs.get("fc2_experts_bias"),
        "k": moe.attr("k", 1),
        "renormalize": moe.attr("normalize_routing_weights", 0) == 1,
        "gated": gated,
    }
    if gate_bias is not None or up_bias is not None:
        zeros = np.zeros((experts, gate.shape[2]), np.float32)
        biases = [zeros if b is None else b for b in (gate_bias, up_bias)]
        layer["up_bias"] = np.concatenate(biases, axis=1) if gated else biases[0]
    activation = moe.attr("activation_type", "relu")
    if activation == "swiglu":
        if "swiglu_limit" in moe.attrs:
            assert moe.attr("activation_beta", 0.0) == 1.0
            layer.update(activation="swiglu_clamped", alpha=moe.attr("activation_alpha", 1.0),
                         limit=moe.attr("swiglu_limit", None))
        else:
            assert moe.attr("activation_alpha", 1.0) == 1.0
            assert moe.attr("activation_beta", 0.0) == 0.0
            layer["activation"] = "silu"
    else:
        layer["activation"] = {"relu": "relu", "gelu": "gelu_tanh", "silu": "silu"}[activation]
    return layer


def activate(name, x, layer):
    if name == "relu":
        return np.maximum(x, 0)
    if name == "gelu_tanh":
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    if name == "silu":
        return x / (1 + np.exp(-x))
    raise ValueError(name)


def moe_layer(tokens, logits, layer):
    """moe.layer's semantics (dialects/moe/MoEOps.td) with router logits given, in float64."""
    tokens = tokens.astype(np.float64)
    logits = logits.astype(np.float64)
    scores = np.exp(logits - logits.max(axis=1, keepdims=True))
    scores /= scores.sum(axis=1, keepdims=True)
    inter = layer["down_weight"].shape[1]
    result = np.zeros_like(tokens)
    for t in range(tokens.shape[0]):
        chosen = np.argsort(-scores[t], kind="stable")[:layer["k"]]
        weights = scores[t, chosen]
        if layer["renormalize"]:
            weights = weights / weights.sum()
        for expert, weight in zip(chosen, weights):
            h = tokens[t] @ layer["up_weight"][expert]
            if layer["up_bias"] is not None:
                h = h + layer["up_bias"][expert]
            if layer["activation"] == "swiglu_clamped":
                gate = np.minimum(h[:inter], layer["limit"])
                up = np.clip(h[inter:], -layer["limit"], layer["limit"])
                h = (up + 1) * gate / (1 + np.exp(-layer["alpha"] * gate))
            elif layer["gated"]:
                h = activate(layer["activation"], h[:inter], layer) * h[inter:]
            else:
                h = activate(layer["activation"], h, layer)
            out = h @ layer["down_weight"][expert]
            if layer["down_bias"] is not None:
                out = out + layer["down_bias"][expert]
            result[t] += weight * out
    return result


def runnable_by_ort_cpu(model, moe):
    """`model`, or an equivalent that onnxruntime's CPU kernel runs: the current layout and,
    for SwiGLU, gate and up interleaved in fc1 (gate first)."""
    if not moe.legacy and moe.fusion in (0, 1) and not (moe.swiglu and moe.fusion == 0):
        return model
    weights = {"fc2_experts_weights": moe.projection("fc2_experts_weights").transpose(0, 2, 1)}
    if "fc2_experts_bias" in moe.inputs:
        weights["fc2_experts_bias"] = moe.inputs["fc2_experts_bias"]
    gate, gate_bias, up, up_bias = moe.gate_and_up()
    attrs = dict(moe.attrs)
    if up is None:
        fc1, fc1_bias = gate, gate_bias
    else:
        fc1 = np.stack([gate, up], axis=3).reshape(gate.shape[0], gate.shape[1], -1)
        fc1_bias = None
        if gate_bias is not None or up_bias is not None:
            zeros = np.zeros(gate.shape[::2], np.float32)
            pair = [zeros if b is None else b for b in (gate_bias, up_bias)]
            fc1_bias = np.stack(pair, axis=2).reshape(gate.shape[0], -1)
        attrs["swiglu_fusion"] = 1
    weights["fc1_experts_weights"] = np.ascontiguousarray(fc1.transpose(0, 2, 1))
    if fc1_bias is not None:
        weights["fc1_experts_bias"] = fc1_bias
    inputs = [n if n in weights or n in ("input", "router_probs") else "" for n in INPUT_ORDER]
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node("MoE", inputs, ["output"], domain="com.microsoft", **attrs)
    graph = helper.make_graph([node], model.graph.name + "_ort_cpu", list(model.graph.input),
                              list(model.graph.output),
                              [numpy_helper.from_array(v, k) for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=list(model.opset_import))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--tokens", type=int, action="append", default=None)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    failed = False
    for path in args.models:
        model = onnx.load(path)
        moe = MoENode(model)
        name = model.graph.name
        layer = raise_to_moe_layer(moe)
        session = ort.InferenceSession(runnable_by_ort_cpu(model, moe).SerializeToString(),
                                       providers=["CPUExecutionProvider"])
        experts = layer["up_weight"].shape[0]
        batched = len(model.graph.input[0].type.tensor_type.shape.dim) == 3
        for tokens in args.tokens or [1, 5, 17]:
            shape = (1, tokens, moe.hidden) if batched else (tokens, moe.hidden)
            x = rng.standard_normal(shape).astype(np.float32)
            logits = rng.standard_normal((tokens, experts)).astype(np.float32)
            (expected,) = session.run(None, {"input": x, "router_probs": logits})
            actual = moe_layer(x.reshape(tokens, moe.hidden), logits, layer).reshape(shape)
            diff = float(np.abs(actual - expected).max())
            ok = diff <= args.tolerance
            failed |= not ok
            print(f"{name} tokens={tokens}: max diff {diff:.2e} {'ok' if ok else 'MISMATCH'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
