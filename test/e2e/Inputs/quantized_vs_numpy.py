#!/usr/bin/env python3
"""Checks a model compiled with moec --quantize against numpy's quantization of its weights.

    quantized_vs_numpy.py MODEL.onnx PROG (--bits 8|4 [--asymmetric] | --fp8) --group G
                          --experts REGEX --bound B [--dim NAME=SIZE ...] [--threads T]
                          [--seed S] [--against PROG2]

The expert weights are the initializers that MatMul nodes whose name matches REGEX take as
their [K, N] weights. numpy quantizes them as moec-quantize-expert-weights does (a scale
per column for every group of G rows of K, or of all K when K < G; symmetric, or with
--asymmetric unsigned with a zero point per group; rounded half to even, in f32; or with
--fp8 e4m3 with a scale per block of G x G, or of all of a dimension below G, encoded as
e4m3.py does) and puts
back what they stand for; onnxruntime runs the model with them. PROG (compiled with the
same --quantize, --quantize-group and --quantize-scheme) must give the same outputs to
float tolerance, and be within a relative L2 error of B of the f32 model's outputs; with
--against, so must PROG2's outputs (the same model compiled another way). Prints one line
per output; exits 1 if a check fails.
"""
import argparse
import os
import re
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../scripts"))
from run_vs_onnxruntime import make_inputs, output_file_name, run_moec, run_onnxruntime  # noqa: E402
import e4m3  # noqa: E402


def quantize_dequantize(weights, bits, group, asymmetric=False):
    """weights [K, N] after group-wise quantization along K, in f32: symmetric (signed
    integers times the scale), or asymmetric (unsigned integers less the zero point, times
    the scale; the range holds 0)."""
    rows, columns = weights.shape
    group = min(group, rows)
    if rows % group:
        return weights
    grouped = weights.reshape(rows // group, group, columns)
    if asymmetric:
        levels = np.float32(2 ** bits - 1)
        low = np.minimum(grouped.min(axis=1, keepdims=True), np.float32(0))
        high = np.maximum(grouped.max(axis=1, keepdims=True), np.float32(0))
        scales = (high - low) / levels
        safe = np.where(scales > 0, scales, np.float32(1))
        zero_points = np.where(scales > 0, np.clip(np.rint(-low / safe), 0, levels), 0)
        q = np.where(scales > 0, np.clip(np.rint(grouped / safe) + zero_points, 0, levels), 0)
        q = q - zero_points
    else:
        qmax = np.float32(2 ** (bits - 1) - 1)
        scales = np.abs(grouped).max(axis=1, keepdims=True) / qmax
        safe = np.where(scales > 0, scales, np.float32(1))
        q = np.where(scales > 0, np.clip(np.rint(grouped / safe), -qmax - 1, qmax), 0)
    return (q.astype(np.float32) * scales).reshape(rows, columns).astype(np.float32)


def fp8_quantize_dequantize(weights, block):
    """weights [K, N] after fp8 e4m3 quantization with a scale per block of rows and
    columns (absmax / 448), in f32."""
    rows, columns = weights.shape
    block_rows, block_columns = min(block, rows), min(block, columns)
    if rows % block_rows or columns % block_columns:
        return weights
    blocks = weights.reshape(rows // block_rows, block_rows, columns // block_columns,
                             block_columns)
    scales = np.abs(blocks).max(axis=(1, 3), keepdims=True) / np.float32(448)
    safe = np.where(scales > 0, scales, np.float32(1))
    q = e4m3.decode(e4m3.encode(np.where(scales > 0, blocks / safe, 0)))
    return (q * scales).reshape(rows, columns).astype(np.float32)


def expert_weight_names(model, regex):
    """The initializers that MatMul nodes whose name matches `regex` take as weights."""
    pattern = re.compile(regex)
    return {node.input[1] for node in model.graph.node
            if node.op_type == "MatMul" and pattern.search(node.name)}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("prog")
    parser.add_argument("--bits", type=int, choices=[8, 4])
    parser.add_argument("--fp8", action="store_true")
    parser.add_argument("--group", type=int, default=128)
    parser.add_argument("--asymmetric", action="store_true")
    parser.add_argument("--experts", required=True, metavar="REGEX")
    parser.add_argument("--bound", type=float, required=True)
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--against", metavar="PROG2")
    args = parser.parse_args()
    if args.fp8 == (args.bits is not None):
        parser.error("give one of --bits and --fp8")
    scheme = "fp8" if args.fp8 else f"int{args.bits}"

    model = onnx.load(args.model)
    dims = {k: int(v) for k, v in (d.split("=") for d in args.dim)}
    inputs = make_inputs(model, dims, np.random.default_rng(args.seed))
    expert_weights = expert_weight_names(model, args.experts)
    quantized = onnx.ModelProto()
    quantized.CopyFrom(model)
    replaced = 0
    for init in quantized.graph.initializer:
        if init.name in expert_weights and len(init.dims) == 2:
            weights = numpy_helper.to_array(init)
            if args.fp8:
                dequantized = fp8_quantize_dequantize(weights, args.group)
            else:
                dequantized = quantize_dequantize(weights, args.bits, args.group, args.asymmetric)
            init.CopyFrom(numpy_helper.from_array(dequantized, init.name))
            replaced += 1
    if not replaced:
        print(f"no MatMul whose name matches {args.experts!r} takes an initializer")
        return 1

    ok = True
    with tempfile.TemporaryDirectory(prefix="moec-quantized-") as tmp:
        quantized_path = os.path.join(tmp, "quantized.onnx")
        onnx.save(quantized, quantized_path)
        programs = {args.prog: tmp}
        if args.against:
            programs[args.against] = os.path.join(tmp, "against")
        for prog, directory in programs.items():
            os.makedirs(directory, exist_ok=True)
            try:
                run_moec(prog, inputs, directory, 0, args.threads)
            except Exception as error:  # its own message is on stderr already
                print(f"{prog} failed: {error}")
                return 1
        names, f32_outputs, _ = run_onnxruntime(args.model, inputs, 0, args.threads)
        _, numpy_outputs, _ = run_onnxruntime(quantized_path, inputs, 0, args.threads)
        for name, f32, same_scheme in zip(names, f32_outputs, numpy_outputs):
            got = np.load(os.path.join(tmp, "out", output_file_name(name)))
            error = float(np.linalg.norm(got - f32) / np.linalg.norm(f32))
            numpy_diff = float(np.abs(got - same_scheme).max())
            same = np.allclose(got, same_scheme, rtol=1e-4, atol=1e-5)
            within = error <= args.bound
            ok &= same and within
            line = (f"{name}: {replaced} expert weights, relative L2 error vs f32 {error:.4f} "
                    f"(bound {args.bound}) {'ok' if within else 'TOO LARGE'}; max abs diff vs "
                    f"numpy's {scheme} {numpy_diff:.3g} {'ok' if same else 'MISMATCH'}")
            if args.against:
                other = np.load(os.path.join(tmp, "against", "out", output_file_name(name)))
                agrees = np.allclose(got, other, rtol=1e-4, atol=1e-5)
                ok &= agrees
                line += (f"; max abs diff vs {os.path.basename(args.against)} "
                         f"{float(np.abs(got - other).max()):.3g} "
                         f"{'ok' if agrees else 'MISMATCH'}")
            print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
