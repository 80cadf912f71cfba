#!/usr/bin/env python3
"""Runs a model compiled by moec and onnxruntime on the same random inputs and compares.

    run_vs_onnxruntime.py MODEL.onnx PROG [--dim NAME=SIZE ...] [--rtol R] [--atol A]
                          [--bf16 K [--perturb scale:F|noise:A|zeros]]
                          [--bench N] [--threads T] [--seed S]
    run_vs_onnxruntime.py MODEL.onnx PROG --reference SAMPLES.npz [--sample N] ...

Dynamic dimensions take their size from --dim (by dim_param name; default 3). Prints, per
output, its shape, mean, and the max abs/relative difference from onnxruntime; with
--bench, both runtimes' median time and the executable's --bench JSON line. Exits 1 if the
executable fails or any output differs beyond the tolerance.

--reference takes the inputs and onnxruntime's outputs from SAMPLES.npz instead (keys x<N>
and y<N>, or x<N>.<input name> and y<N>.<output name>), for models the onnxruntime here
cannot run; onnxruntime is not run then.

--bf16 K replaces --rtol/--atol with the bound of a bf16 computation whose dot products have
at most K terms (scripts/bf16_tolerance.py), relative to each output's largest reference
value. --perturb changes moec's outputs before the comparison (scaled by F, plus uniform
noise in [-A, A], or all zeros), so that a test can check that the tolerance rejects them.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bf16_tolerance import bf16_tolerance  # noqa: E402

NUMPY_TYPES = {
    onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.FLOAT16: np.float16, onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32, onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.UINT8: np.uint8, onnx.TensorProto.BOOL: np.bool_,
}


def reference_value(samples, kind, sample, name):
    """Input (`kind` x) or output (y) `name` of sample `sample` in a --reference file: keyed
    `x0`, `y0` where the model has one input and one output, else `x0.NAME`, `y0.NAME`."""
    key = f"{kind}{sample}.{name}"
    return samples[key] if key in samples else samples[f"{kind}{sample}"]


def output_file_name(name):
    """The file an executable writes output `name` to (docs/executables.md, --output-dir)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return ("_" + safe[1:] if safe.startswith(".") else safe) + ".npy"


def make_inputs(model, dims, rng):
    initializers = {init.name for init in model.graph.initializer}
    inputs = {}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        tensor_type = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else dims.get(d.dim_param, 3)
                 for d in tensor_type.shape.dim]
        dtype = NUMPY_TYPES[tensor_type.elem_type]
        if np.issubdtype(dtype, np.floating):
            inputs[value.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype == np.bool_:
            inputs[value.name] = rng.random(shape) < 0.5
        else:
            inputs[value.name] = rng.integers(0, 4, shape).astype(dtype)
    return inputs


def run_moec(prog, inputs, tmp, bench, threads):
    args = [prog, "--output-dir", os.path.join(tmp, "out"), "--threads", str(threads)]
    for name, array in inputs.items():
        path = os.path.join(tmp, "input_" + output_file_name(name))
        np.save(path, array)
        args += ["--input", f"{name}={path}"]
    subprocess.run(args, check=True)
    median = None
    if bench:
        out = subprocess.run(args[:1] + args[3:] + ["--bench", str(bench)], check=True,
                             capture_output=True, text=True).stdout
        report = out.strip().splitlines()[-1]
        print(f"moec --bench: {report}")
        median = json.loads(report)["median_ms"]
    return median


def run_onnxruntime(model_path, inputs, bench, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    outputs = session.run(None, inputs)
    median = None
    if bench:
        session.run(None, inputs)
        times = []
        for _ in range(bench):
            start = time.perf_counter()
            session.run(None, inputs)
            times.append((time.perf_counter() - start) * 1000)
        median = float(np.median(times))
    return [o.name for o in session.get_outputs()], outputs, median


def perturb(array, how, rng):
    """`array` made wrong on purpose (--perturb)."""
    kind, _, value = how.partition(":")
    if kind == "scale":
        return (array * float(value)).astype(array.dtype)
    if kind == "noise":
        return (array + rng.uniform(-float(value), float(value), array.shape)).astype(array.dtype)
    if kind == "zeros":
        return np.zeros_like(array)
    raise ValueError(f"--perturb {how}: not scale:F, noise:A or zeros")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("prog")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--bf16", type=int, metavar="K",
                        help="the tolerance of bf16 dot products of K terms, not --rtol/--atol")
    parser.add_argument("--perturb", metavar="HOW",
                        help="scale:F, noise:A or zeros: moec's outputs made wrong on purpose")
    parser.add_argument("--bench", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", metavar="SAMPLES.npz")
    parser.add_argument("--sample", type=int, default=0)
    args = parser.parse_args()

    dims = {k: int(v) for k, v in (d.split("=") for d in args.dim)}
    model = onnx.load(args.model)
    inputs = make_inputs(model, dims, np.random.default_rng(args.seed))
    if args.reference:
        samples = np.load(args.reference)
        inputs = {name: reference_value(samples, "x", args.sample, name) for name in inputs}
    ok = True
    with tempfile.TemporaryDirectory(prefix="moec-vs-ort-") as tmp:
        try:
            moec_ms = run_moec(args.prog, inputs, tmp, args.bench, args.threads)
        except subprocess.CalledProcessError as error:
            # Its own message is on stderr already.
            print(f"{args.prog} failed with exit code {error.returncode}")
            return 1
        if args.reference:
            names = [output.name for output in model.graph.output]
            expected = [reference_value(samples, "y", args.sample, name) for name in names]
        else:
            names, expected, ort_ms = run_onnxruntime(args.model, inputs, args.bench,
                                                      args.threads)
        for name, want in zip(names, expected):
            got = np.load(os.path.join(tmp, "out", output_file_name(name)))
            if args.perturb:
                got = perturb(got, args.perturb, np.random.default_rng(args.seed + 1))
            if got.shape != want.shape or got.dtype != want.dtype:
                print(f"{name}: moec gives {got.dtype}{list(got.shape)}, onnxruntime "
                      f"{want.dtype}{list(want.shape)}")
                ok = False
                continue
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            max_abs = float(diff.max()) if diff.size else 0.0
            scale = float(np.abs(want).max()) if want.size else 0.0
            rel = max_abs / scale if scale else max_abs
            bound = ""
            if args.bf16:
                atol = bf16_tolerance(scale, args.bf16)
                close = bool(np.all(np.isfinite(got))) and max_abs <= atol
                bound = f"  bf16 bound {atol:.3g}"
            else:
                close = np.allclose(got, want, rtol=args.rtol, atol=args.atol)
            ok &= close
            print(f"{name}: {got.dtype}{list(got.shape)} mean {float(np.mean(got)):.6g}  "
                  f"max abs diff {max_abs:.3g}  max rel diff {rel:.3g}{bound}  "
                  f"{'ok' if close else 'MISMATCH'}")
    if args.bench and not args.reference:
        print(f"median ms over {args.bench} runs, {args.threads} thread(s): moec {moec_ms:.3f}, "
              f"onnxruntime {ort_ms:.3f} (moec is {ort_ms / moec_ms:.2f}x onnxruntime's speed)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
