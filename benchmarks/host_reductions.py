#!/usr/bin/env python3
"""Times float reductions compiled by moec with and without moec-reassociate-reductions.

    .venv/bin/python benchmarks/host_reductions.py [--runs N] [--threads T]
        [--model MODEL.onnx ...] [--dim NAME=SIZE ...] [--moec PATH] [--smoke]

Graphs over a [512, 4096] f32 input, reduced along the last axis: ReduceSum, Softmax, and an
RMSNorm (x / sqrt(mean(x^2) + eps) * w); scripts/make_examples.py's attention block (a
LayerNormalization, softmax, and attention's batched products, the scores' with a transposed
operand) at hidden 1024, 8 heads, on [1, 512, 1024]; and each --model, its dynamic
dimensions sized by --dim (by dim_param name; default 3), on random inputs
(scripts/run_vs_onnxruntime.py's: integers in [0, 4), so token ids too). Each is compiled twice by
build/bin/moec, as is and with --disable-pass=moec-reassociate-reductions; both programs'
outputs are compared with onnxruntime's, and each is timed: the executable's --bench N median
on T threads (default 1), and onnxruntime's median of N runs on T threads. Prints a markdown
table: compile seconds, median ms with the pass and without, the speed-up, onnxruntime's
median, and each program's largest |moec - onnxruntime| relative to the largest
|onnxruntime| (exit code 1 when one is over 1e-4). Ratios come from one run of this script
on one machine. --smoke: tiny sizes, for the test suite.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import make_examples  # noqa: E402
from run_vs_onnxruntime import (make_inputs, output_file_name, run_moec,  # noqa: E402
                                run_onnxruntime)

PASS = "moec-reassociate-reductions"
# (rows, columns) of the single-op graphs, (hidden, heads, tokens) of the attention block.
SIZES = {"full": ((512, 4096), (1024, 8, 512)), "smoke": ((16, 64), (64, 4, 8))}


# What the table's error column may reach before the script fails: f32 sums of a few thousand
# terms in different orders stay near 1e-6.
MAX_RELATIVE_ERROR = 1e-4


def single_node_model(shape, nodes, initializers=()):
    """A graph from input x (`shape`, f32) to y through `nodes`."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "reduction", [x], [y], list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def reduce_sum(shape):
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [-1])
    return single_node_model(shape, [helper.make_node("ReduceSum", ["x", "axes"], ["y"])],
                             [axes])


def softmax(shape):
    return single_node_model(shape, [helper.make_node("Softmax", ["x"], ["y"], axis=-1)])


def rms_norm(shape):
    rng = np.random.default_rng(1)
    weight = onnx.numpy_helper.from_array(
        rng.standard_normal(shape[-1]).astype(np.float32), "weight")
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [-1])
    eps = helper.make_tensor("eps", TensorProto.FLOAT, [], [1e-6])
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["squares"]),
        helper.make_node("ReduceMean", ["squares", "axes"], ["mean"]),
        helper.make_node("Add", ["mean", "eps"], ["shifted"]),
        helper.make_node("Sqrt", ["shifted"], ["rms"]),
        helper.make_node("Div", ["x", "rms"], ["normalized"]),
        helper.make_node("Mul", ["normalized", "weight"], ["y"]),
    ]
    return single_node_model(shape, nodes, [weight, axes, eps])


def compile_model(moec, model_path, prog, disabled):
    args = [moec, model_path, "-o", prog] + ([f"--disable-pass={PASS}"] if disabled else [])
    start = time.perf_counter()
    subprocess.run(args, check=True)
    return time.perf_counter() - start


def max_relative_error(prog_outputs, reference):
    errors = []
    for name, expected in reference.items():
        got = np.load(os.path.join(prog_outputs, output_file_name(name)))
        errors.append(float(np.max(np.abs(got - expected)) / np.max(np.abs(expected))))
    return max(errors)


def measure(moec, name, model, inputs, runs, threads, tmp):
    """(the larger error of the two programs, the table row) for `model` on `inputs`."""
    model_path = os.path.join(tmp, "model.onnx")
    onnx.save(model, model_path)
    names, outputs, ort_ms = run_onnxruntime(model_path, inputs, runs, threads)
    reference = dict(zip(names, outputs))
    cells = []
    for disabled in (False, True):
        prog = os.path.join(tmp, "prog")
        seconds = compile_model(moec, model_path, prog, disabled)
        median = run_moec(prog, inputs, tmp, runs, threads)
        error = max_relative_error(os.path.join(tmp, "out"), reference)
        cells.append((seconds, median, error))
    (on_s, on_ms, on_err), (off_s, off_ms, off_err) = cells
    row = (f"| {name} | {on_s:.1f} / {off_s:.1f} | {on_ms:.3f} | {off_ms:.3f} "
           f"| {off_ms / on_ms:.2f}x | {ort_ms:.3f} | {on_err:.1e} / {off_err:.1e} |")
    return max(on_err, off_err), row


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", action="append", default=[], help="a model to time too")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE",
                        help="the size of the models' dynamic dimension NAME")
    parser.add_argument("--moec", default=os.path.join(REPO, "build", "bin", "moec"))
    parser.add_argument("--smoke", action="store_true",
                        help="tiny graphs (16x64, a 64-wide attention block on 8 tokens)")
    args = parser.parse_args()
    shape, (hidden, heads, tokens) = SIZES["smoke" if args.smoke else "full"]
    rng = np.random.default_rng(0)
    x = {"x": rng.standard_normal(shape).astype(np.float32)}
    results = []
    with tempfile.TemporaryDirectory(prefix="moec-reductions-") as tmp:
        for name, build in (("ReduceSum", reduce_sum), ("Softmax", softmax),
                            ("RMSNorm", rms_norm)):
            results.append(measure(args.moec, f"{name} {shape[0]}x{shape[1]}", build(shape), x,
                                   args.runs, args.threads, tmp))
        attention = make_examples.attention_block(hidden=hidden, heads=heads)
        activations = make_inputs(attention, {"batch": 1, "seq": tokens}, rng)
        results.append(measure(args.moec, f"attention_block {hidden} wide, {heads} heads, "
                               f"[1, {tokens}]", attention, activations, args.runs,
                               args.threads, tmp))
        dims = {name: int(size) for name, size in (d.split("=") for d in args.dim)}
        for path in args.model:
            model = onnx.load(path)
            inputs = make_inputs(model, dims, rng)
            shapes = ", ".join(f"{name} {list(array.shape)}" for name, array in inputs.items())
            name = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
            results.append(measure(args.moec, f"{name} ({shapes})", model, inputs,
                                   args.runs, args.threads, tmp))
    print(f"| graph | compile s (with / without) | with {PASS}: ms | without: ms "
          f"| speed-up | onnxruntime ms | max rel. error vs onnxruntime (with / without) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(row for _, row in results))
    if max(error for error, _ in results) > MAX_RELATIVE_ERROR:
        print(f"moec differs from onnxruntime by more than {MAX_RELATIVE_ERROR:g} "
              "(relative to the largest output value)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
