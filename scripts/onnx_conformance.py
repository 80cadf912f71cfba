#!/usr/bin/env python3
"""Runs ONNX's backend node tests (Debian's libonnx-testdata) through moec.

For every node test whose ops moec claims to legalize (`moec --list-supported-ops`, so the
list is derived from the compiler, never picked by hand), compiles model.onnx for the host,
runs the executable on each test_data_set_*/input_*.pb and compares with output_*.pb using
the ONNX backend suite's tolerances. Prints one line per failure and, last,
`N passed, N failed`. Exits 1 if any test failed.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

from run_vs_onnxruntime import output_file_name

DATA = "/usr/share/libonnx-testdata/data/node"
# The tolerances of onnx.backend.test (onnx/backend/test/runner/__init__.py).
RTOL, ATOL = 1e-3, 1e-7
# ... which widens rtol to two ulps for bfloat16 outputs. For float16 outputs 1e-3 is about
# one ulp, which any other order of rounding exceeds (ONNX's reference rounds Softmax's
# intermediate values to float16; moec computes them in float32, as onnxruntime does): they
# get two ulps as well.
RTOL_FLOAT16 = 2 ** -9


def graph_op_types(graph):
    """(domain, op_type) of every node, subgraphs included."""
    for node in graph.node:
        yield node.domain, node.op_type
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from graph_op_types(attr.g)
            for sub in attr.graphs:
                yield from graph_op_types(sub)


def eligible(model_path, supported):
    model = onnx.load(model_path, load_external_data=False)
    for domain, op_type in graph_op_types(model.graph):
        if domain not in ("", "ai.onnx") or op_type not in supported:
            return False
    for value in list(model.graph.input) + list(model.graph.output):
        if not value.type.HasField("tensor_type"):
            return False
        # numpy has no bfloat16 to hold the reference data in, and executables take and
        # return numeric tensors only (docs/executables.md).
        if value.type.tensor_type.elem_type in (onnx.TensorProto.BFLOAT16,
                                                onnx.TensorProto.STRING):
            return False
    return True


def read_tensor(path):
    tensor = onnx.TensorProto()
    with open(path, "rb") as f:
        tensor.ParseFromString(f.read())
    return numpy_helper.to_array(tensor)


def run_test(test_dir, moec, timeout):
    """Returns None on success, else a one-line reason."""
    name = os.path.basename(test_dir)
    model = onnx.load(os.path.join(test_dir, "model.onnx"), load_external_data=False)
    initializers = {init.name for init in model.graph.initializer}
    input_names = [v.name for v in model.graph.input if v.name not in initializers]
    output_names = [v.name for v in model.graph.output]
    with tempfile.TemporaryDirectory(prefix=f"moec-{name}-") as tmp:
        prog = os.path.join(tmp, "prog")
        compile_ = subprocess.run([moec, os.path.join(test_dir, "model.onnx"), "-o", prog],
                                  capture_output=True, text=True, timeout=timeout)
        if compile_.returncode != 0:
            lines = (compile_.stderr or compile_.stdout).strip().splitlines()
            return "compile: " + (lines[0] if lines else f"exit {compile_.returncode}")
        for data_set in sorted(glob.glob(os.path.join(test_dir, "test_data_set_*"))):
            args = [prog, "--output-dir", os.path.join(tmp, "out")]
            for i, input_name in enumerate(input_names):
                pb = os.path.join(data_set, f"input_{i}.pb")
                if not os.path.exists(pb):
                    continue
                npy = os.path.join(tmp, f"input_{i}.npy")
                np.save(npy, read_tensor(pb))
                args += ["--input", f"{input_name}={npy}"]
            run = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
            if run.returncode != 0:
                lines = (run.stderr or run.stdout).strip().splitlines()
                return "run: " + (lines[-1] if lines else f"exit {run.returncode}")
            for i, output_name in enumerate(output_names):
                expected = read_tensor(os.path.join(data_set, f"output_{i}.pb"))
                actual = np.load(os.path.join(tmp, "out", output_file_name(output_name)))
                if actual.dtype != expected.dtype:
                    return f"output {output_name}: dtype {actual.dtype}, expected {expected.dtype}"
                if actual.shape != expected.shape:
                    return f"output {output_name}: shape {actual.shape}, expected {expected.shape}"
                if expected.dtype.kind in "fc":
                    rtol = RTOL_FLOAT16 if expected.dtype == np.float16 else RTOL
                    if not np.allclose(actual, expected, rtol=rtol, atol=ATOL, equal_nan=True):
                        err = np.nanmax(np.abs(actual.astype(np.float64) - expected))
                        return f"output {output_name}: max abs error {err:.3g}"
                elif not np.array_equal(actual, expected):
                    return f"output {output_name}: values differ"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--moec", required=True)
    parser.add_argument("--data", default=DATA)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--filter", default="", help="only tests whose name matches")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--list", action="store_true", help="list the eligible tests")
    args = parser.parse_args()

    supported = set(subprocess.run([args.moec, "--list-supported-ops"], check=True,
                                   capture_output=True, text=True).stdout.split())
    tests = [d for d in sorted(glob.glob(os.path.join(args.data, "test_*")))
             if re.search(args.filter, os.path.basename(d))
             and eligible(os.path.join(d, "model.onnx"), supported)]
    if args.list:
        print("\n".join(os.path.basename(t) for t in tests))
        return 0

    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_test, t, args.moec, args.timeout): t for t in tests}
        for future in concurrent.futures.as_completed(futures):
            name = os.path.basename(futures[future])
            try:
                reason = future.result()
            except subprocess.TimeoutExpired:
                reason = "timed out"
            except Exception as error:  # A malformed output is a failure, not a crash.
                reason = f"{type(error).__name__}: {error}"
            if reason:
                failures.append((name, reason))
    for name, reason in sorted(failures):
        print(f"FAIL {name}: {reason}")
    print(f"{len(tests) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
