#!/usr/bin/env python3
"""onnxruntime's com.microsoft.MoE and QMoE in numpy, written from its kernels, to check moec with.

    ort_moe_reference.py MODEL.onnx --compiled PROG [--tokens N ...] [--tolerance T]
    ort_moe_reference.py MODEL.onnx ... --vs-onnxruntime [--tokens N ...] [--tolerance T]
    ort_moe_reference.py MODEL.onnx ... --vs-samples [--tolerance T]

The semantics follow onnxruntime's own sources (contrib_ops/cpu/moe/moe_cpu.cc, moe_utils.cc
and moe_helper.h; contrib_ops/cuda/moe/moe_fused_swiglu.cu, the CUDA kernels'
sparse_mixer_top2 and finalize_moe_routing), not moec's raise: this file reads the MoE node
and its weights as onnxruntime does and shares no code with moec or scripts/moe_reference.py.

- Routing: softmax of `router_probs` over all experts, the k largest (ties to the lower
  index), divided by their sum with normalize_routing_weights. With use_sparse_mixer (k = 2,
  CUDA only): expert 1 is the largest logit m1, weighted by softmax over the experts whose
  logit is within 2 * 0.01 * max(|logit|, m1) of it; expert 2 the largest of the others, m2,
  weighted likewise over the experts within reach of m2, expert 1 excluded.
- Weights: fc1 [E, fc1_out, hidden] and fc2 [E, hidden, inter] (y = x W^T); the legacy
  layout (moe_helper.h's test: fc2 is [E, inter, hidden] while inter != hidden) is
  [E, hidden, fc1_out] and [E, inter, hidden] (y = x W).
- Activation: relu, gelu (tanh form), silu on fc1 + bias; swiglu splits fc1's output into
  gate and linear: interleaved (swiglu_fusion 1: gate at even columns), chunked (2: gate
  first) or fc1 gate and fc3 linear (0); gate = min(gate, limit), linear clamped to
  [-limit, limit], out = gate * sigmoid(alpha * gate) * (linear + beta) (alpha 1.0, beta
  0.0, limit infinite by default).
- Output: sum over the chosen experts of weight * (fc2(activation) + fc2 bias).
- QMoE (contrib_ops/cpu/moe/moe_quantization_cpu.cc): the same on weights dequantized first.
  Weights [E, N, K * bits / 8] uint8, `expert_weight_bits` per value, the first in the low
  bits; scales [E, N] (per row) or [E, N, K / block_size]; zero points packed like the
  weights along their last dim, or 2^(bits - 1); weight = (q - zero point) * scale.

With --compiled, runs PROG (the model compiled by moec) on random inputs at each token count
and compares its `output`; with --vs-onnxruntime, compares this reference with onnxruntime's
CPU kernel on the models it runs (which shows the reference reads the node as onnxruntime
does); with --vs-samples, compares it with the onnxruntime outputs stored beside the model
(MODEL.npz, keys x<N>.input, x<N>.router_probs, y<N>.output: scripts/quantized_models), for
models the onnxruntime here cannot run. Prints one line per model and token count (sample);
exits 1 if any differs by more than the tolerance relative to the largest reference value.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

INPUTS = ["input", "router_probs", "fc1_experts_weights", "fc1_experts_bias",
          "fc2_experts_weights", "fc2_experts_bias", "fc3_experts_weights", "fc3_experts_bias"]
SPARSE_MIXER_JITTER = 0.01


QMOE_INPUTS = ["input", "router_probs", "fc1_experts_weights", "fc1_scales", "fc1_experts_bias",
               "fc2_experts_weights", "fc2_scales", "fc2_experts_bias", "fc3_experts_weights",
               "fc3_scales", "fc3_experts_bias", "fc1_zero_points", "fc2_zero_points",
               "fc3_zero_points"]


def unpack(packed, bits):
    """The `bits`-bit values of uint8 `packed` along its last dim, the first in the low bits."""
    fields = [(packed >> (i * bits)) & ((1 << bits) - 1) for i in range(8 // bits)]
    return np.stack(fields, axis=-1).reshape(*packed.shape[:-1], -1).astype(np.float64)


class MoE:
    def __init__(self, model):
        (node,) = [n for n in model.graph.node
                   if n.op_type in ("MoE", "QMoE") and n.domain == "com.microsoft"]
        self.attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        constants = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        names = QMOE_INPUTS if node.op_type == "QMoE" else INPUTS
        given = {names[i]: constants[name] for i, name in enumerate(node.input)
                 if name and name in constants}
        if node.op_type == "QMoE":
            given = self.dequantize(given, model)
        self.w = {name: value.astype(np.float64) for name, value in given.items()}
        self.batched = len(model.graph.input[0].type.tensor_type.shape.dim) == 3

    def dequantize(self, given, model):
        """QMoE's quantized projections as MoE's float weights [E, N, K]."""
        bits, block = self.attr("expert_weight_bits", 4), self.attr("block_size", 0)
        hidden = model.graph.input[0].type.tensor_type.shape.dim[-1].dim_value
        fc1_rows = given["fc1_scales"].shape[1]
        fused = self.attr("activation_type", "relu") == "swiglu" and self.attr("swiglu_fusion", 0)
        inputs = {"fc1": hidden, "fc2": fc1_rows // 2 if fused else fc1_rows, "fc3": hidden}
        weights = {name: value for name, value in given.items() if name.endswith("_bias")}
        for fc, k in inputs.items():
            if f"{fc}_experts_weights" not in given:
                continue
            codes = unpack(given[f"{fc}_experts_weights"], bits)[..., :k]
            scales = given[f"{fc}_scales"].astype(np.float64)
            zero = given.get(f"{fc}_zero_points")
            rows = scales.shape[1]
            if block:
                blocks = scales.shape[2]
                zero = (2 ** (bits - 1) if zero is None else unpack(zero, bits)[..., :blocks])
                scales = np.repeat(scales, block, axis=-1)[..., :k]
                zero = np.repeat(np.broadcast_to(zero, scales.shape[:2] + (blocks,)), block,
                                 axis=-1)[..., :k]
            else:
                zero = 2 ** (bits - 1) if zero is None else unpack(zero, bits)[..., :rows, None]
                scales = scales[..., None]
            weights[f"{fc}_experts_weights"] = (codes - zero) * scales
        return weights

    def attr(self, name, default):
        value = self.attrs.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    def __call__(self, x, logits):
        shape = x.shape
        x = x.reshape(-1, shape[-1]).astype(np.float64)
        logits = logits.astype(np.float64)
        hidden = x.shape[1]
        fc2 = self.w["fc2_experts_weights"]
        inter = fc2.shape[1] * fc2.shape[2] // hidden
        legacy = inter != hidden and fc2.shape[1] == inter
        weights, chosen = self.route(logits)
        out = np.zeros_like(x)
        for t in range(x.shape[0]):
            for w, e in zip(weights[t], chosen[t]):
                out[t] += w * self.expert(x[t], e, legacy)
        return out.reshape(shape)

    def route(self, logits):
        k = self.attr("k", 1)
        if self.attr("use_sparse_mixer", 0):
            assert k == 2
            return self.sparse_mixer(logits)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        chosen = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        weights = np.take_along_axis(probs, chosen, axis=1)
        if self.attr("normalize_routing_weights", 0):
            weights /= weights.sum(axis=1, keepdims=True)
        return weights, chosen

    @staticmethod
    def sparse_mixer(logits):
        weights, chosen = np.zeros((len(logits), 2)), np.zeros((len(logits), 2), np.int64)
        for t, row in enumerate(logits):
            excluded = np.zeros(len(row), bool)
            for slot in range(2):
                candidates = np.where(excluded, -np.inf, row)
                top = int(np.argmax(candidates))
                peak = row[top]
                masked = (peak - row) > 2 * SPARSE_MIXER_JITTER * np.maximum(np.abs(row), peak)
                masked |= excluded
                chosen[t, slot] = top
                weights[t, slot] = 1.0 / np.exp(row[~masked] - peak).sum()
                excluded[top] = True
        return weights, chosen

    def linear(self, name, x, e, legacy):
        w = self.w[name][e]
        y = x @ w if legacy else w @ x
        bias = self.w.get(name.replace("weights", "bias"))
        return y if bias is None else y + bias[e]

    def expert(self, x, e, legacy):
        activation = self.attr("activation_type", "relu")
        h = self.linear("fc1_experts_weights", x, e, legacy)
        if activation == "swiglu":
            fusion = self.attr("swiglu_fusion", 0)
            if fusion == 1:
                gate, linear = h[0::2], h[1::2]
            elif fusion == 2:
                gate, linear = np.split(h, 2)
            else:
                gate, linear = h, self.linear("fc3_experts_weights", x, e, legacy)
            limit = self.attr("swiglu_limit", np.inf)
            alpha, beta = self.attr("activation_alpha", 1.0), self.attr("activation_beta", 0.0)
            gate = np.minimum(gate, limit)
            linear = np.clip(linear, -limit, limit)
            h = gate / (1 + np.exp(-alpha * gate)) * (linear + beta)
        elif "fc3_experts_weights" in self.w:
            raise NotImplementedError("fc3 without swiglu")
        elif activation == "relu":
            h = np.maximum(h, 0)
        elif activation == "gelu":
            h = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))
        elif activation == "silu":
            h = h / (1 + np.exp(-h))
        elif activation != "identity":
            raise NotImplementedError(activation)
        return self.linear("fc2_experts_weights", h, e, legacy)


def run_compiled(prog, inputs):
    with tempfile.TemporaryDirectory(prefix="moec-ort-moe-") as tmp:
        args = [prog, "--output-dir", tmp]
        for name, array in inputs.items():
            path = os.path.join(tmp, "input_" + name + ".npy")
            np.save(path, array)
            args += ["--input", f"{name}={path}"]
        subprocess.run(args, check=True)
        return np.load(os.path.join(tmp, "output.npy"))


def random_inputs(moe, experts, hidden, token_counts, rng):
    """(tokens, inputs, None) for random inputs at each token count."""
    for tokens in token_counts:
        shape = (1, tokens, hidden) if moe.batched else (tokens, hidden)
        x = rng.standard_normal(shape).astype(np.float32)
        logits = rng.standard_normal((tokens, experts)).astype(np.float32)
        if moe.attr("use_sparse_mixer", 0):
            # At this spread SparseMixer's masks keep some experts and drop others.
            logits = (2 + 0.03 * logits).astype(np.float32)
        yield tokens, {"input": x, "router_probs": logits}, None


def stored_samples(path):
    """(tokens, inputs, onnxruntime's output) for each sample stored in MODEL.npz."""
    samples = np.load(os.path.splitext(path)[0] + ".npz")
    sample = 0
    while f"y{sample}.output" in samples:
        inputs = {name: samples[f"x{sample}.{name}"] for name in ("input", "router_probs")}
        yield inputs["input"].shape[-2], inputs, samples[f"y{sample}.output"]
        sample += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--compiled", metavar="PROG", help="the one MODEL compiled by moec")
    parser.add_argument("--vs-onnxruntime", action="store_true",
                        help="compare the reference with onnxruntime's CPU kernel instead")
    parser.add_argument("--tokens", type=int, action="append", default=None)
    parser.add_argument("--vs-samples", action="store_true",
                        help="compare the reference with onnxruntime's outputs in MODEL.npz")
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    if [bool(args.compiled), args.vs_onnxruntime, args.vs_samples].count(True) != 1:
        parser.error("give one of --compiled PROG, --vs-onnxruntime and --vs-samples")
    if args.compiled and len(args.models) != 1:
        parser.error("--compiled takes exactly one model")
    rng = np.random.default_rng(0)
    failed = False
    for path in args.models:
        model = onnx.load(path)
        moe = MoE(model)
        name = model.graph.name
        experts = model.graph.input[1].type.tensor_type.shape.dim[1].dim_value
        hidden = model.graph.input[0].type.tensor_type.shape.dim[-1].dim_value
        session = None
        if args.vs_onnxruntime:
            import onnxruntime as ort
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        cases = (stored_samples(path) if args.vs_samples
                 else random_inputs(moe, experts, hidden, args.tokens or [1, 5, 17], rng))
        for tokens, inputs, stored in cases:
            x, logits = inputs["input"], inputs["router_probs"]
            if stored is not None:
                got = stored
            elif session:
                (got,) = session.run(None, inputs)
            else:
                got = run_compiled(args.compiled, inputs)
            want = moe(x, logits)
            if got.shape != want.shape or got.dtype != np.float32:
                print(f"{name} tokens={tokens}: {got.dtype}{list(got.shape)}, expected "
                      f"float32{list(want.shape)} MISMATCH")
                failed = True
                continue
            diff = float(np.abs(got - want).max() / np.abs(want).max())
            ok = diff <= args.tolerance and bool(np.isfinite(got).all())
            failed |= not ok
            print(f"{name} tokens={tokens}: max diff {diff:.2e} of the largest output "
                  f"{'ok' if ok else 'MISMATCH'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
