#!/usr/bin/env python3
"""Writes single-node models of the recurrent ops of linear-attention layers (Gated
DeltaNet, as in Qwen3.5, and Mamba), with their reference outputs at two shapes.

    make_recurrent_op_models.py OUT_DIR

Run it with onnxruntime 1.32 or newer (the export venv: /work/wt-exports/.venv-export), whose
CPU kernels of com.microsoft.CausalConvWithState and com.microsoft.LinearAttention give the
reference outputs; the opset-27 (default domain) forms of the two ops, which onnxruntime
has no kernel for, take ONNX's reference implementation (onnx.reference).

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


def make_model(name, domain, node, inputs, outputs, inits):
    opsets = [helper.make_opsetid("", 27 if domain == "" else 22)]
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
}


def reference(model, feeds):
    if any(opset.domain == MS for opset in model.opset_import):
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
