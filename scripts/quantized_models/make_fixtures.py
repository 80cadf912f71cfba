#!/usr/bin/env python3
"""Writes the quantized-model fixtures of test/models/quantized, with onnxruntime's own tools.

    make_fixtures.py OUT_DIR [--only PREFIX ...]

Run it with the Python of scripts/real_exports (onnxruntime 1.32, onnxruntime-genai 0.18,
torch, transformers): the QMoE zero points, the 14-input QMoE schema and the genai builder
are not in the onnxruntime of the test environment. Each fixture is MODEL.onnx and
MODEL.npz, whose samples hold inputs other than those anything was built from and
onnxruntime's outputs on them (keys `x<sample>.<input>` and `y<sample>.<output>`, read by
scripts/run_vs_onnxruntime.py --reference). Every model is run by onnxruntime before it is
kept; what onnxruntime refuses is listed in OUT_DIR/README.md instead.

  * matmul_nbits_*: a small float32 MLP (MatMul, Relu, MatMul; the second K not a multiple
    of the block) quantized by onnxruntime.quantization.matmul_nbits_quantizer:
    com.microsoft.MatMulNBits (QOperator) or DequantizeLinear -> MatMul (QDQ, opset 21 block
    quantization), 4 and 8 bits, blocks of 32 and 128, symmetric or with zero points.
  * qmoe_*: one com.microsoft.QMoE node built as onnxruntime's
    test/python/transformers/test_qmoe_cpu.py builds it: weights [E, N, K / (8 / bits)]
    uint8 (two 4-bit values a byte, low nibble first), per-row ([E, N]) or block-wise
    ([E, N, K / block]) scales, unsigned storage with an implied zero point of 2^(bits-1)
    or explicit zero points (packed like the weights).
  * genai_*: onnxruntime-genai's model builder, int4 for the CPU, over a tiny MoE
    transformers config with random weights (scripts/real_exports/make_fixtures.py makes
    the model): MatMulNBits, GatherBlockQuantized and QMoE where the builder puts them.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SAMPLE_TOKENS = (1, 4, 17)

# ---------------------------------------------------------------------------------------------
# MatMulNBits and DequantizeLinear -> MatMul, by onnxruntime's quantizer

MLP_K, MLP_HIDDEN, MLP_OUT = 256, 40, 24


def float_mlp(rng):
    """x [tokens, 256] -> MatMul [256, 40] -> Relu -> MatMul [40, 24]: the model to quantize."""
    w1 = numpy_helper.from_array((rng.standard_normal((MLP_K, MLP_HIDDEN)) / 16).astype(np.float32),
                                 "w1")
    w2 = numpy_helper.from_array((rng.standard_normal((MLP_HIDDEN, MLP_OUT)) / 6).astype(np.float32),
                                 "w2")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
         helper.make_node("Relu", ["h"], ["r"], name="relu"),
         helper.make_node("MatMul", ["r", "w2"], ["y"], name="fc2")], "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", MLP_K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["tokens", MLP_OUT])], [w1, w2])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])


def matmul_nbits_model(prefix, bits, block, symmetric, rng):
    """The float MLP quantized by onnxruntime's quantizer as `prefix` says (matmul_nbits:
    MatMulNBits; dq_matmul: its QDQ format): the model, or why there is none."""
    from onnxruntime.quantization import QuantFormat
    from onnxruntime.quantization import matmul_nbits_quantizer as quantizer
    formats = {"matmul_nbits": QuantFormat.QOperator, "dq_matmul": QuantFormat.QDQ}
    config = quantizer.DefaultWeightOnlyQuantConfig(
        block_size=block, is_symmetric=symmetric, bits=bits, quant_format=formats[prefix])
    tool = quantizer.MatMulNBitsQuantizer(float_mlp(rng), algo_config=config)
    tool.process()
    model = tool.model.model
    if not any(n.op_type in ("MatMulNBits", "DequantizeLinear") for n in model.graph.node):
        return None, "the quantizer left the MatMuls in float32"
    return model, None


def matmul_nbits_name(prefix, bits, block, symmetric):
    return f"{prefix}_int{bits}_b{block}_{'sym' if symmetric else 'zp'}"


def matmul_nbits_models(rng):
    for prefix in ("matmul_nbits", "dq_matmul"):
        for bits in (4, 8):
            for block in (32, 128):
                for symmetric in (True, False):
                    yield (matmul_nbits_name(prefix, bits, block, symmetric),
                           *matmul_nbits_model(prefix, bits, block, symmetric, rng))


# ---------------------------------------------------------------------------------------------
# QMoE, as onnxruntime's test_qmoe_cpu.py builds it

QMOE_HIDDEN, QMOE_INTER, QMOE_EXPERTS, QMOE_TOP_K = 64, 32, 4, 2


def quantize_rows(weights, bits, block, asymmetric):
    """onnxruntime's test quantization of `weights` [N, K] along K: per row (block 0) or per
    block; returns the packed uint8 [N, K * bits / 8], the scales [N] or [N, K / block],
    and the packed zero points (None when symmetric)."""
    rows, cols = weights.shape
    group = block or cols
    blocks = weights.reshape(rows, cols // group, group).astype(np.float64)
    top = (1 << bits) - 1
    if asymmetric:
        low, high = blocks.min(-1, keepdims=True), blocks.max(-1, keepdims=True)
        scales = np.maximum((high - low) / top, 1e-8)
        zero = np.clip(np.round(-low / scales), 0, top)
    else:
        scales = np.maximum(np.abs(blocks).max(-1, keepdims=True) / (top // 2), 1e-8)
        zero = np.full_like(scales, 1 << (bits - 1))
    scales = scales.astype(np.float32).astype(np.float64)
    codes = np.clip(np.round(blocks / scales + zero), 0, top).astype(np.uint8).reshape(rows, cols)
    packed = pack(codes, bits)
    scales = scales[..., 0].astype(np.float32)
    zero_points = pack(zero[..., 0].astype(np.uint8), bits) if asymmetric else None
    if not block:
        scales = scales[:, 0]
        zero_points = None if zero_points is None else zero_points[:, 0] if bits == 8 else \
            pack_column(zero[:, 0, 0].astype(np.uint8), bits)
    return packed, scales, zero_points


def pack(codes, bits):
    """[N, K] codes of `bits` bits into [N, K * bits / 8] bytes, the first in the low bits."""
    if bits == 8:
        return codes
    per_byte = 8 // bits
    rows, cols = codes.shape
    padded = np.zeros((rows, -(-cols // per_byte) * per_byte), np.uint8)
    padded[:, :cols] = codes
    lanes = padded.reshape(rows, -1, per_byte)
    return sum((lanes[..., i] << (i * bits)).astype(np.uint8) for i in range(per_byte))


def pack_column(codes, bits):
    """[N] codes into [N * bits / 8] bytes."""
    return pack(codes[None, :], bits)[0]


def qmoe_model(name, bits, block, asymmetric, activation, fusion, rng, hidden=QMOE_HIDDEN,
               inter=QMOE_INTER, experts=QMOE_EXPERTS, top_k=QMOE_TOP_K):
    """One QMoE node over [tokens, hidden] tokens (by default 64, 4 experts, top 2,
    intermediate 32)."""
    swiglu = activation == "swiglu"
    fc1_out = 2 * inter if swiglu and fusion else inter
    attrs = dict(k=top_k, activation_type=activation, expert_weight_bits=bits,
                 normalize_routing_weights=1)
    if block:
        attrs["block_size"] = block
    if swiglu:
        attrs.update(swiglu_fusion=fusion, activation_alpha=1.702, activation_beta=1.0,
                     swiglu_limit=7.0)
    initializers, inputs = [], ["input", "router_probs"]

    def projection(prefix, n, k):
        per_expert = [quantize_rows(rng.standard_normal((n, k)).astype(np.float32) / np.sqrt(k),
                                    bits, block, asymmetric) for _ in range(experts)]
        weights, scales, zeros = (np.stack(part) if part[0] is not None else None
                                  for part in zip(*per_expert))
        bias = (0.1 * rng.standard_normal((experts, n))).astype(np.float32)
        for suffix, value in (("weights", weights), ("scales", scales), ("bias", bias),
                              ("zero_points", zeros)):
            if value is not None:
                initializers.append(numpy_helper.from_array(value, f"{prefix}_{suffix}"))
        return f"{prefix}_weights", f"{prefix}_scales", f"{prefix}_bias", \
            f"{prefix}_zero_points" if zeros is not None else ""

    fc1 = projection("fc1", fc1_out, hidden)
    fc2 = projection("fc2", hidden, inter)
    fc3 = projection("fc3", inter, hidden) if swiglu and not fusion else ("",) * 4
    inputs += [*fc1[:3], *fc2[:3], *fc3[:3], fc1[3], fc2[3], fc3[3]]
    while inputs[-1] == "":
        inputs.pop()
    node = helper.make_node("QMoE", inputs, ["output"], name=f"{name}_qmoe",
                            domain="com.microsoft", **attrs)
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["tokens", hidden]),
         helper.make_tensor_value_info("router_probs", TensorProto.FLOAT, ["tokens", experts])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["tokens", hidden])],
        initializers)
    # As onnxruntime's tests: no opset_import entry for com.microsoft.
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def qmoe_name(bits, block, asymmetric, activation, fusion):
    return (f"qmoe_int{bits}_{f'b{block}' if block else 'row'}_{'zp' if asymmetric else 'sym'}_"
            f"{activation}{fusion if activation == 'swiglu' else ''}")


def more_models(rng):
    """2-bit MatMulNBits and QMoE, and QMoE's gelu and identity activations: made after the
    others (with the random numbers that follow theirs) so that those keep their weights."""
    for symmetric in (True, False):
        yield (matmul_nbits_name("matmul_nbits", 2, 32, symmetric),
               *matmul_nbits_model("matmul_nbits", 2, 32, symmetric, rng))
    for variant in [(2, 32, False, "silu", 0), (2, 0, True, "swiglu", 1),
                    (4, 0, False, "gelu", 0), (4, 32, True, "identity", 0)]:
        name = qmoe_name(*variant)
        yield name, qmoe_model(name, *variant, rng), None


# Fixtures kept although onnxruntime refuses them, checked against scripts/ort_moe_reference.py.
REFERENCE_ONLY = {"qmoe_int4_b32_sym_swiglu0", "qmoe_int4_b32_sym_swiglu2"}


def qmoe_models(rng):
    variants = [(bits, block, asymmetric, activation, fusion)
                for bits in (4, 8) for block in (0, 32) for asymmetric in (False, True)
                for activation, fusion in (("silu", 0), ("swiglu", 1), ("relu", 0))]
    # SwiGLU with separate (fusion 0) or concatenated (fusion 2) gate and up weights, which
    # onnxruntime's CPU kernel refuses: kept without its outputs (REFERENCE_ONLY).
    variants += [(4, 32, False, "swiglu", 0), (4, 32, False, "swiglu", 2)]
    for variant in variants:
        name = qmoe_name(*variant)
        yield name, qmoe_model(name, *variant, rng), None


# ---------------------------------------------------------------------------------------------
# onnxruntime-genai's model builder, int4 for the CPU

GENAI_ARCH = "lfm2_moe"
# (batch, new tokens, cached tokens) of each sample: a prompt, and decode steps on a cache.
GENAI_SAMPLES = ((1, 5, 0), (2, 1, 3), (1, 3, 4))
GENAI_VARIANTS = {
    # the builder's defaults: MatMulNBits and QMoE, blocks of 32, accuracy level 4 (onnxruntime
    # quantizes the activations of the 4-bit GEMMs to int8)
    "genai_lfm2_moe_int4": [],
    # fp32 activations in onnxruntime's GEMMs; the embedding table quantized too
    # (GatherBlockQuantized)
    "genai_lfm2_moe_int4_acc1_gather": ["accuracy_level=1", "op_types_to_quantize=MatMul/Gather"],
}


def real_exports():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "real_exports"))
    import make_fixtures as real
    return real


def genai_models(rng):
    import tempfile
    real = real_exports()
    model, config = real.build_model(GENAI_ARCH)
    real.HEAD_DIM[0] = config.hidden_size // config.num_attention_heads
    for name, options in GENAI_VARIANTS.items():
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "model.onnx"
            try:
                real.genai_build(model, GENAI_ARCH, path, workdir, precision="int4",
                                 extra_options=options)
            except RuntimeError as error:
                yield name, None, f"the builder failed: {error}"
                continue
            yield name, onnx.load(str(path)), None


def genai_feeds(model, sample, seed):
    real = real_exports()
    batch, tokens, past = GENAI_SAMPLES[sample]
    described = [{"name": v.name, "shape": [d.dim_param or d.dim_value
                                            for d in v.type.tensor_type.shape.dim],
                  "dtype": onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name}
                 for v in graph_inputs(model)]
    feeds = real.feeds_for(described, "causallm", (batch, tokens), None, seed, past_len=past)
    data = np.random.default_rng(seed)
    for name, value in feeds.items():
        if name.startswith("past_"):
            feeds[name] = data.standard_normal(value.shape).astype(value.dtype)
    return feeds


# ---------------------------------------------------------------------------------------------
# checking and writing

def graph_inputs(model):
    initializers = {i.name for i in model.graph.initializer}
    return [v for v in model.graph.input if v.name not in initializers]


def sample_feeds(model, index, rng):
    if any(v.name == "input_ids" for v in model.graph.input):
        return genai_feeds(model, index, int(rng.integers(1 << 30)))
    tokens = SAMPLE_TOKENS[index]
    feeds = {}
    for value in graph_inputs(model):
        shape = [d.dim_value if d.HasField("dim_value") else tokens
                 for d in value.type.tensor_type.shape.dim]
        feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def store(name, model, out_dir, rng):
    """Runs `model` in onnxruntime on each sample and writes it with its samples; returns
    onnxruntime's refusal, or None."""
    import onnxruntime as ort
    try:
        options = ort.SessionOptions()
        # onnxruntime fuses DequantizeLinear -> MatMul into MatMulNBits, whose activations it
        # quantizes to int8 unless told otherwise: the reference is the float32 product.
        options.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "1")
        session = ort.InferenceSession(model.SerializeToString(), options,
                                       providers=["CPUExecutionProvider"])
        samples = {}
        for index in range(len(SAMPLE_TOKENS)):
            feeds = sample_feeds(model, index, rng)
            outputs = session.run(None, feeds)
            for key, value in feeds.items():
                samples[f"x{index}.{key}"] = value
            for output, value in zip(session.get_outputs(), outputs):
                samples[f"y{index}.{output.name}"] = value
    except Exception as error:  # onnxruntime's refusal is the finding
        message = str(error).strip().splitlines()[0]
        return message[message.rfind("] ") + 2:][:240] if "] " in message else message[:240]
    onnx.save(model, str(out_dir / f"{name}.onnx"))
    np.savez(out_dir / f"{name}.npz", **samples)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    kept, refused = [], []
    families = [matmul_nbits_models, qmoe_models, genai_models, more_models]
    for family in families:
        for name, model, why in family(rng):
            if args.only and not any(name.startswith(p) for p in args.only):
                continue
            why = why or store(name, model, args.out_dir, np.random.default_rng(1))
            print(f"{name}: {why or 'ok'}", file=sys.stderr)
            if why and name in REFERENCE_ONLY:
                onnx.save(model, str(args.out_dir / f"{name}.onnx"))
                refused.append((name, why + " (kept, without onnxruntime's outputs)"))
            elif why:
                refused.append((name, why))
            else:
                kept.append((name, sorted({f"{n.domain}::{n.op_type}" if n.domain else n.op_type
                                           for n in model.graph.node
                                           if n.domain or n.op_type == "DequantizeLinear"})))
    write_readme(args.out_dir, kept, refused)


def write_readme(out_dir, kept, refused):
    import onnxruntime
    versions = f"onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}"
    try:
        import onnxruntime_genai
        versions += f", onnxruntime-genai {onnxruntime_genai.__version__}"
    except ImportError:
        pass
    with open(out_dir / "README.md", "w") as out:
        out.write("# Quantized models, as onnxruntime's tools write them\n\n"
                  "Written by scripts/quantized_models/make_fixtures.py (its docstring says how each "
                  f"family is made) with {versions}. MODEL.npz holds inputs other than those the "
                  "model was built from and onnxruntime's outputs on them (CPU), keys "
                  "`x<sample>.<input>` and `y<sample>.<output>`.\n\n## Fixtures\n\n")
        for name, ops in kept:
            out.write(f"- {name}: {', '.join(ops)}\n")
        out.write("\n## Variants onnxruntime does not make or run\n\n")
        out.writelines(f"- {name}: {why}\n" for name, why in refused)

if __name__ == "__main__":
    main()
