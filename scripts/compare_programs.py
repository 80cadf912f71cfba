#!/usr/bin/env python3
"""Runs two executables of the same model on the same random inputs and compares outputs.

    compare_programs.py PROG_A PROG_B --rows T [--rows T ...] [--rtol R] [--int-range LO HI]
        [--seed S]

The inputs come from PROG_A's `--info`: every dynamic dimension (`?` or a name) is T,
floats are standard normal, integers uniform in [LO, HI). For every T and output it prints
one line, `T=<T> <name>: <dtype> [shape] equal` (integers, which must match exactly) or
`... max relative error <e> ok` (floats: the largest difference relative to the largest
magnitude of PROG_A's output, at most R), and exits 1 on any mismatch. Use it to check that
two lowerings of the same ops (e.g. with and without a pass) agree.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

DTYPES = {"float32": np.float32, "float16": np.float16, "float64": np.float64,
          "int32": np.int32, "int64": np.int64}


def read_info(prog):
    """[(name, dtype, dims)] of the inputs, dims as ints or None for dynamic ones."""
    text = subprocess.run([prog, "--info"], capture_output=True, text=True, check=True).stdout
    inputs, section = [], None
    for line in text.splitlines():
        if line.strip().endswith(":") and not line.startswith(" "):
            section = line.strip()[:-1]
            continue
        match = re.match(r"\s+(\S+): (\w+) \[(.*)\]", line)
        if match and section == "inputs":
            dims = [int(d) if d.strip().isdigit() else None
                    for d in match.group(3).split(",") if d.strip()]
            inputs.append((match.group(1), match.group(2), dims))
    return inputs


def run(prog, inputs, out_dir):
    args = [prog, "--output-dir", out_dir]
    for name, path in inputs:
        args += ["--input", f"{name}={path}"]
    subprocess.run(args, check=True)
    return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in sorted(os.listdir(out_dir))}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prog_a")
    parser.add_argument("prog_b")
    parser.add_argument("--rows", type=int, action="append", required=True)
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--int-range", type=int, nargs=2, default=(0, 8))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    ok = True
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            inputs = []
            for name, dtype, dims in read_info(args.prog_a):
                shape = [rows if d is None else d for d in dims]
                if np.issubdtype(DTYPES[dtype], np.integer):
                    value = rng.integers(*args.int_range, size=shape).astype(DTYPES[dtype])
                else:
                    value = rng.standard_normal(shape).astype(DTYPES[dtype])
                path = os.path.join(tmp, f"in_{len(inputs)}.npy")
                np.save(path, value)
                inputs.append((name, path))
            a = run(args.prog_a, inputs, os.path.join(tmp, "a"))
            b = run(args.prog_b, inputs, os.path.join(tmp, "b"))
        for name, expected in a.items():
            actual = b.get(name)
            head = f"T={rows} {name}: {expected.dtype} {list(expected.shape)}"
            if actual is None or actual.shape != expected.shape or actual.dtype != expected.dtype:
                print(f"{head} MISMATCH: {None if actual is None else (actual.dtype, actual.shape)}")
                ok = False
            elif np.issubdtype(expected.dtype, np.integer):
                equal = np.array_equal(expected, actual)
                print(f"{head} {'equal' if equal else 'DIFFERENT'}")
                ok &= equal
            else:
                scale = float(np.max(np.abs(expected))) if expected.size else 0.0
                diff = float(np.max(np.abs(expected - actual))) if expected.size else 0.0
                error = diff / scale if scale > 0 else diff
                good = error <= args.rtol
                print(f"{head} max relative error {error:.3g} {'ok' if good else 'FAIL'}")
                ok &= good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
