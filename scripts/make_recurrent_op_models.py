#!/usr/bin/env python3
"""Writes single-node models of the recurrent ops of linear-attention layers (Gated
DeltaNet, as in Qwen3.5, and Mamba) and of the gates and norms around them, with their
reference outputs at two shapes.

    make_recurrent_op_models.py OUT_DIR

Run it with onnxruntime 1.32 or newer (the export venv: /work/wt-exports/.venv-export), whose
CPU kernels of com.microsoft.CausalConvWithState, LinearAttention, LinearAttentionGate and
GatedRMSNorm and of LpNormalization give the reference outputs; the opset-27 (default
domain) forms of the first two, which onnxruntime has no kernel for, take ONNX's reference
implementation (onnx.reference).

Every model has a dynamic batch and sequence length and static channel and head sizes.
OUT_DIR/NAME.onnx is the model; OUT_DIR/NAME.prefill.npz (batch 2, 5 tokens) and
OUT_DIR/NAME.decode.npz (batch 1, one token) hold every graph input and output by name, as
scripts/run_vs_reference.py takes them. The attributes and optional inputs each model uses
are listed in MODELS.

OUT_DIR/bad_NAME.onnx are malformed nodes (BAD_MODELS), which moec refuses with one line.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper

MS = "com.microsoft"
SHAPES = {"prefill": (2, 5), "decode": (1, 1)}


def conv_model(name, domain, channels, kernel, attrs, bias, past, layout=None):
    """CausalConvWithState over [B, C, L] (or channels_last [B, L, *layout])."""
    channels_last = attrs.get("channels_last", 0)
    state_length = (kernel - 1) * attrs.get("dilation", 1)
    rest = list(layout or [channels])
    x_shape = ["B", "L", *rest] if channels_last else ["B", channels, "L"]
    s_shape = ["B", state_length, *rest] if channels_last else ["B", channels, state_length]
    rng = np.random.default_rng(len(name))
    inits = [helper.make_tensor("weight", TensorProto.FLOAT, [channels, 1, kernel],
                                rng.standard_normal((channels, 1, kernel)).astype(np.float32))]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)]
    node_inputs = ["x", "weight", "", ""]
    if bias:
        inits.append(helper.make_tensor("bias", TensorProto.FLOAT, [channels],
                                        rng.standard_normal(channels).astype(np.float32)))
        node_inputs[2] = "bias"
    if past:
        inputs.append(helper.make_tensor_value_info("past_state", TensorProto.FLOAT, s_shape))
        node_inputs[3] = "past_state"
    while node_inputs[-1] == "":
        node_inputs.pop()
    node = helper.make_node("CausalConvWithState", node_inputs, ["y", "present_state"],
                            name="conv", domain=domain, **attrs)
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, x_shape),
               helper.make_tensor_value_info("present_state", TensorProto.FLOAT, s_shape)]

    def feeds(batch, length):
        dims = {"B": batch, "L": length}
        shape = lambda s: [dims.get(d, d) for d in s]
        values = {"x": rng.standard_normal(shape(x_shape)).astype(np.float32)}
        if past:
            values["past_state"] = rng.standard_normal(shape(s_shape)).astype(np.float32)
        return values

    return make_model(name, domain, node, inputs, outputs, inits), feeds


def attention_model(name, domain, heads, kv_heads, key_heads, key_size, value_size, attrs,
                    past, decay=None, beta=None):
    """LinearAttention; decay "head" or "key" (per key dim), beta "head" or "one"."""
    rng = np.random.default_rng(len(name) + 100)
    hidden = {"query": heads * key_size, "key": key_heads * key_size,
              "value": kv_heads * value_size}
    if decay:
        hidden["decay"] = kv_heads * (key_size if decay == "key" else 1)
    if beta:
        hidden["beta"] = kv_heads if beta == "head" else 1
    state_shape = ["B", kv_heads, key_size, value_size]
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["B", "T", h])
              for n, h in hidden.items()]
    node_inputs = ["query", "key", "value", "past_state" if past else "",
                   "decay" if decay else "", "beta" if beta else ""]
    if past:
        inputs.append(helper.make_tensor_value_info("past_state", TensorProto.FLOAT, state_shape))
    while node_inputs[-1] == "":
        node_inputs.pop()
    node = helper.make_node("LinearAttention", node_inputs, ["y", "present_state"], name="attn",
                            domain=domain, q_num_heads=heads, kv_num_heads=kv_heads, **attrs)
    outputs = [
        helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                      ["B", "T", max(heads, kv_heads) * value_size]),
        helper.make_tensor_value_info("present_state", TensorProto.FLOAT, state_shape)]

    def feeds(batch, length):
        values = {n: rng.standard_normal((batch, length, h)).astype(np.float32)
                  for n, h in hidden.items()}
        # As Gated DeltaNet feeds them: unit keys, decays in log space (below 0), rates in
        # (0, 1).
        k = values["key"].reshape(batch, length, key_heads, key_size)
        values["key"] = (k / np.linalg.norm(k, axis=-1, keepdims=True)).reshape(batch, length, -1)
        if decay:
            values["decay"] = -np.log1p(np.exp(values["decay"])).astype(np.float32)
        if beta:
            values["beta"] = (1 / (1 + np.exp(-values["beta"]))).astype(np.float32)
        if past:
            values["past_state"] = rng.standard_normal(
                (batch, kv_heads, key_size, value_size)).astype(np.float32)
        return values

    return make_model(name, domain, node, inputs, outputs, []), feeds


def gate_model(name, heads, with_beta, dtype=np.float32):
    """LinearAttentionGate: decay (and beta when `with_beta`) of a (and b) [B, T, heads] of
    `dtype` (dt_bias and decay_scale are float32 whatever it is)."""
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    rng = np.random.default_rng(len(name) + 200)
    inits = [helper.make_tensor(n, TensorProto.FLOAT, [heads], v.astype(np.float32))
             for n, v in (("dt_bias", rng.standard_normal(heads)),
                          ("decay_scale", -np.exp(rng.standard_normal(heads))))]
    names = ["a", "b"] if with_beta else ["a"]
    shape = ["B", "T", heads]
    inputs = [helper.make_tensor_value_info(n, elem, shape) for n in names]
    outputs = ["decay", "beta"] if with_beta else ["decay"]
    node = helper.make_node("LinearAttentionGate", ["a", "dt_bias", "decay_scale"] +
                            names[1:], outputs, name="gate", domain=MS)
    outputs = [helper.make_tensor_value_info(n, elem, shape) for n in outputs]

    def feeds(batch, length):
        # Wide enough that Softplus meets its large-argument and small-argument tails.
        return {n: (30 * rng.standard_normal((batch, length, heads))).astype(dtype)
                for n in names}

    return make_model(name, MS, node, inputs, outputs, inits), feeds


def gated_norm_model(name, groups, group_size, attrs, dtype=np.float32):
    """GatedRMSNorm of x and gate [B, T, groups · group_size], scale [group_size], of
    `dtype`."""
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    rng = np.random.default_rng(len(name) + 300)
    inits = [helper.make_tensor("scale", elem, [group_size],
                                rng.standard_normal(group_size).astype(dtype))]
    shape = ["B", "T", groups * group_size]
    inputs = [helper.make_tensor_value_info(n, elem, shape) for n in ("x", "gate")]
    node = helper.make_node("GatedRMSNorm", ["x", "scale", "gate"], ["y"], name="norm",
                            domain=MS, **attrs)
    outputs = [helper.make_tensor_value_info("y", elem, shape)]

    def feeds(batch, length):
        return {n: rng.standard_normal((batch, length, groups * group_size)).astype(dtype)
                for n in ("x", "gate")}

    return make_model(name, MS, node, inputs, outputs, inits), feeds


def lp_norm_model(name, shape, attrs):
    """LpNormalization (opset 22) of x of `shape` ("B" and "T" dynamic)."""
    rng = np.random.default_rng(len(name) + 400)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
    node = helper.make_node("LpNormalization", ["x"], ["y"], name="lp", **attrs)
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)]

    def feeds(batch, length):
        dims = {"B": batch, "T": length}
        x = rng.standard_normal([dims.get(d, d) for d in shape]).astype(np.float32)
        # A zero vector along the axis, whose norm is 0: onnxruntime outputs zeros there.
        first = [0] * len(shape)
        first[attrs.get("axis", -1)] = slice(None)
        x[tuple(first)] = 0
        return {"x": x}

    return make_model(name, "", node, inputs, outputs, [], opset=22), feeds


def make_model(name, domain, node, inputs, outputs, inits, opset=None):
    """The model of `node`, at default-domain `opset` (27 for the opset-27 ops, else 22)."""
    opsets = [helper.make_opsetid("", opset or (27 if domain == "" else 22))]
    if domain == MS:
        opsets.append(helper.make_opsetid(MS, 1))
    graph = helper.make_graph([node], name, inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=opsets, ir_version=10)


MODELS = {
    # CausalConvWithState: activation, bias, past_state, dilation, channels_last.
    "conv_silu_bias_past": lambda: conv_model(
        "conv_silu_bias_past", MS, 6, 4, {"activation": "silu"}, bias=True, past=True),
    "conv_no_state": lambda: conv_model("conv_no_state", MS, 5, 3, {}, bias=False, past=False),
    "conv_swish_dilation2": lambda: conv_model(
        "conv_swish_dilation2", MS, 4, 3, {"activation": "swish", "dilation": 2}, bias=True,
        past=True),
    "conv_channels_last": lambda: conv_model(
        "conv_channels_last", MS, 6, 4, {"activation": "silu", "channels_last": 1}, bias=True,
        past=True, layout=[2, 3]),
    "conv_onnx27": lambda: conv_model(
        "conv_onnx27", "", 6, 4, {"activation": "silu"}, bias=True, past=True),
    # LinearAttention: each update rule, decay per head and per key dim, beta per head and
    # shared, GQA and onnxruntime's inverse GQA (Qwen3.5: more value heads than key heads),
    # fewer key heads than KV heads, past_state or none, scale given or derived.
    "attention_gated_delta_inverse_gqa": lambda: attention_model(
        "attention_gated_delta_inverse_gqa", MS, 2, 4, 2, 4, 3,
        {"update_rule": "gated_delta", "scale": 1.0}, past=True, decay="head", beta="head"),
    "attention_linear_gqa": lambda: attention_model(
        "attention_linear_gqa", MS, 4, 2, 2, 4, 3, {"update_rule": "linear"}, past=False),
    "attention_gated_per_key": lambda: attention_model(
        "attention_gated_per_key", MS, 2, 2, 2, 4, 5, {"update_rule": "gated", "scale": 0.5},
        past=True, decay="key"),
    "attention_delta_shared_beta": lambda: attention_model(
        "attention_delta_shared_beta", MS, 2, 2, 1, 4, 3, {"update_rule": "delta"}, past=True,
        beta="one"),
    "attention_onnx27": lambda: attention_model(
        "attention_onnx27", "", 4, 2, 2, 4, 3, {"update_rule": "gated_delta"}, past=True,
        decay="head", beta="head"),
    # The gates and output norm of Qwen3.5's linear-attention layer (onnxruntime-genai's
    # builder): LinearAttentionGate with and without b, GatedRMSNorm of each activation, per
    # head and over the whole row, and the per-head L2 normalization of the queries and
    # keys (LpNormalization), with p 1 and another axis too.
    "gate_decay_beta": lambda: gate_model("gate_decay_beta", 4, with_beta=True),
    "gate_decay_only": lambda: gate_model("gate_decay_only", 3, with_beta=False),
    "gated_norm_silu_per_head": lambda: gated_norm_model(
        "gated_norm_silu_per_head", 3, 4, {"epsilon": 1e-6}),
    "gated_norm_swish": lambda: gated_norm_model("gated_norm_swish", 2, 4,
                                                 {"activation": "swish"}),
    "gated_norm_sigmoid_one_group": lambda: gated_norm_model(
        "gated_norm_sigmoid_one_group", 1, 6, {"activation": "sigmoid"}),
    # float16, the builder's io_dtype for GPUs: computed in float32, narrowed once.
    "gate_decay_beta_f16": lambda: gate_model("gate_decay_beta_f16", 4, with_beta=True,
                                              dtype=np.float16),
    "gated_norm_silu_f16": lambda: gated_norm_model("gated_norm_silu_f16", 2, 4, {},
                                                    dtype=np.float16),
    "lp_norm_l2_per_head": lambda: lp_norm_model("lp_norm_l2_per_head", ["B", "T", 2, 4],
                                                 {"axis": -1, "p": 2}),
    "lp_norm_l1_axis1": lambda: lp_norm_model("lp_norm_l1_axis1", ["B", 3, "T"],
                                              {"axis": 1, "p": 1}),
}


def bad_model(name, op, inputs, outputs, attrs):
    """One com.microsoft node of `op` from and to float graph values {name: shape}."""
    node = helper.make_node(op, list(inputs), list(outputs), name=name, domain=MS, **attrs)
    values = lambda named: [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
                            for n, shape in named.items()]
    graph = helper.make_graph([node], name, values(inputs), values(outputs))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22),
                                                   helper.make_opsetid(MS, 1)], ir_version=10)


BAD_MODELS = {
    "bad_conv_rank": lambda: bad_model(
        "bad_conv_rank", "CausalConvWithState", {"x": ["B", 4, "L", 1], "w": [4, 1, 3]},
        {"y": ["B", 4, "L", 1]}, {}),
    "bad_conv_ndim2": lambda: bad_model(
        "bad_conv_ndim2", "CausalConvWithState", {"x": ["B", 4, 3, "L"], "w": [4, 1, 2, 3]},
        {"y": ["B", 4, 3, "L"]}, {"ndim": 2}),
    "bad_attention_missing_value": lambda: bad_model(
        "bad_attention_missing_value", "LinearAttention", {"q": ["B", "T", 8], "k": ["B", "T", 8]},
        {"y": ["B", "T", 8]}, {"q_num_heads": 2, "kv_num_heads": 2, "update_rule": "linear"}),
    "bad_attention_no_decay": lambda: bad_model(
        "bad_attention_no_decay", "LinearAttention",
        {"q": ["B", "T", 8], "k": ["B", "T", 8], "v": ["B", "T", 6]}, {"y": ["B", "T", 6]},
        {"q_num_heads": 2, "kv_num_heads": 2, "update_rule": "gated"}),
    "bad_gate_dt_bias_length": lambda: bad_model(
        "bad_gate_dt_bias_length", "LinearAttentionGate",
        {"a": ["B", "T", 4], "dt_bias": [3], "decay_scale": [4]}, {"decay": ["B", "T", 4]}, {}),
    "bad_gate_beta_without_b": lambda: bad_model(
        "bad_gate_beta_without_b", "LinearAttentionGate",
        {"a": ["B", "T", 4], "dt_bias": [4], "decay_scale": [4]},
        {"decay": ["B", "T", 4], "beta": ["B", "T", 4]}, {}),
    "bad_gated_norm_group": lambda: bad_model(
        "bad_gated_norm_group", "GatedRMSNorm",
        {"x": ["B", "T", 8], "scale": [3], "gate": ["B", "T", 8]}, {"y": ["B", "T", 8]}, {}),
    "bad_gated_norm_activation": lambda: bad_model(
        "bad_gated_norm_activation", "GatedRMSNorm",
        {"x": ["B", "T", 8], "scale": [4], "gate": ["B", "T", 8]}, {"y": ["B", "T", 8]},
        {"activation": "relu"}),
    "bad_lp_norm_p3": lambda: bad_lp_norm_model(),
}


def bad_lp_norm_model():
    """LpNormalization with p 3, which onnxruntime's kernel refuses too."""
    node = helper.make_node("LpNormalization", ["x"], ["y"], name="bad_lp_norm_p3", p=3)
    graph = helper.make_graph(
        [node], "bad_lp_norm_p3",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)


def reference(model, feeds):
    # onnxruntime has kernels for all but the opset-27 ops.
    if all(opset.version < 27 for opset in model.opset_import if opset.domain == ""):
        import onnxruntime
        session = onnxruntime.InferenceSession(model.SerializeToString(),
                                               providers=["CPUExecutionProvider"])
        return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
    from onnx.reference import ReferenceEvaluator
    evaluator = ReferenceEvaluator(model)
    return dict(zip(evaluator.output_names, evaluator.run(None, feeds)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for name, make in MODELS.items():
        model, feeds = make()
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(args.out_dir, name + ".onnx"))
        for shape_name, (batch, length) in SHAPES.items():
            values = feeds(batch, length)
            values.update(reference(model, values))
            np.savez(os.path.join(args.out_dir, f"{name}.{shape_name}.npz"), **values)
    for name, make in BAD_MODELS.items():
        onnx.save(make(), os.path.join(args.out_dir, name + ".onnx"))


if __name__ == "__main__":
    main()
