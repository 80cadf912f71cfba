#!/usr/bin/env python3
"""Shows that raising com.microsoft.MoE into moe.layer is exact, before any backend runs it.

    check_ort_moe_raise.py MODEL.onnx ... [--tokens N ...] [--tolerance T]
    check_ort_moe_raise.py MODEL.onnx --compiled PROG [--tokens N ...] [--tolerance T]

For every model: builds moe.layer's operands and attributes from the MoE node the way
moec-raise-ort-moe does (weights into [E, H, N] / [E, I, H], gate columns before up
columns, routing and expert attributes), evaluates moe.layer's semantics on them with numpy
(scripts/moe_reference.py), and compares with onnxruntime on the same random inputs at each
token count. onnxruntime's CPU kernel runs only the current weight layout and interleaved
SwiGLU (swiglu_fusion = 1), and misreads legacy-layout weights; other models are compared
with the equivalent model in that form, derived from the original's weights by
onnxruntime's documented semantics. It ignores use_sparse_mixer (its output is plain top-2),
so such a model can only be checked with --compiled: then PROG, the model compiled by moec,
is run and compared with the numpy reference instead of onnxruntime. Prints one line per
model and token count; exits 1 if any differs beyond the tolerance.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe_reference import moe_layer  # noqa: E402
from run_vs_onnxruntime import output_file_name  # noqa: E402

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
    """moe.layer's operands and attributes, as moec-raise-ort-moe builds them: keyword
    arguments of moe_reference.moe_layer (all but the tokens and router logits)."""
    gate, gate_bias, up, up_bias = moe.gate_and_up()
    experts = gate.shape[0]
    gated = up is not None
    normalize = moe.attr("normalize_routing_weights", 0) == 1
    if moe.attr("use_sparse_mixer", 0) == 1:
        assert moe.attr("k", 1) == 2 and not normalize
        routing = dict(scoring="sparse_mixer", k=2)
    else:
        routing = dict(scoring="softmax", k=moe.attr("k", 1), renormalize=normalize)
    layer = {
        "router_weight": None,
        "up_weight": np.concatenate([gate, up], axis=2) if gated else gate,
        "down_weight": moe.projection("fc2_experts_weights"),
        "down_bias": moe.inputs.get("fc2_experts_bias"),
        "routing": routing,
    }
    if gate_bias is not None or up_bias is not None:
        zeros = np.zeros((experts, gate.shape[2]), np.float32)
        biases = [zeros if b is None else b for b in (gate_bias, up_bias)]
        layer["up_bias"] = np.concatenate(biases, axis=1) if gated else biases[0]
    activation = moe.attr("activation_type", "relu")
    if activation == "swiglu":
        if "swiglu_limit" in moe.attrs:
            assert moe.attr("activation_beta", 0.0) == 1.0
            layer["expert"] = dict(activation="swiglu_clamped", gated=True,
                                   alpha=moe.attr("activation_alpha", 1.0),
                                   limit=moe.attr("swiglu_limit", None))
        else:
            assert moe.attr("activation_alpha", 1.0) == 1.0
            assert moe.attr("activation_beta", 0.0) == 0.0
            layer["expert"] = dict(activation="silu", gated=True)
    else:
        names = {"relu": "relu", "gelu": "gelu_tanh", "silu": "silu"}
        layer["expert"] = dict(activation=names[activation], gated=gated)
    return layer


def run_compiled(prog, inputs):
    """The `output` of PROG (a model compiled by moec) on `inputs`."""
    with tempfile.TemporaryDirectory(prefix="moec-ort-moe-") as tmp:
        args = [prog, "--output-dir", tmp]
        for name, array in inputs.items():
            path = os.path.join(tmp, "input_" + output_file_name(name))
            np.save(path, array)
            args += ["--input", f"{name}={path}"]
        subprocess.run(args, check=True)
        return np.load(os.path.join(tmp, output_file_name("output")))


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
    parser.add_argument("--compiled", metavar="PROG",
                        help="compare PROG, the one MODEL compiled by moec, with the numpy "
                             "reference instead of comparing the reference with onnxruntime")
    args = parser.parse_args()
    if args.compiled and len(args.models) != 1:
        parser.error("--compiled takes exactly one model")
    rng = np.random.default_rng(0)
    failed = False
    for path in args.models:
        model = onnx.load(path)
        moe = MoENode(model)
        name = model.graph.name
        layer = raise_to_moe_layer(moe)
        sparse_mixer = layer["routing"]["scoring"] == "sparse_mixer"
        if sparse_mixer and not args.compiled:
            print(f"{name}: onnxruntime's CPU kernel ignores use_sparse_mixer; "
                  "check it with --compiled")
            failed = True
            continue
        session = None if args.compiled else ort.InferenceSession(
            runnable_by_ort_cpu(model, moe).SerializeToString(),
            providers=["CPUExecutionProvider"])
        experts = layer["up_weight"].shape[0]
        batched = len(model.graph.input[0].type.tensor_type.shape.dim) == 3
        for tokens in args.tokens or [1, 5, 17]:
            shape = (1, tokens, moe.hidden) if batched else (tokens, moe.hidden)
            x = rng.standard_normal(shape).astype(np.float32)
            logits = rng.standard_normal((tokens, experts)).astype(np.float32)
            if sparse_mixer:
                # SparseMixer masks the logits more than about 2% below the chosen one; at
                # this spread its masks keep some experts and drop others.
                logits = (2 + 0.03 * logits).astype(np.float32)
            inputs = {"input": x, "router_probs": logits}
            if args.compiled:
                got = run_compiled(args.compiled, inputs)
            else:
                (got,) = session.run(None, inputs)
            reference = moe_layer(x.reshape(tokens, moe.hidden), router_logits=logits,
                                  **layer).reshape(shape)
            diff = float(np.abs(reference - got).max())
            ok = diff <= args.tolerance
            failed |= not ok
            print(f"{name} tokens={tokens}: max diff {diff:.2e} {'ok' if ok else 'MISMATCH'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
