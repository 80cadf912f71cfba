#!/usr/bin/env python3
"""Runs a model compiled by moec on inputs saved with their expected outputs, and compares.

    run_vs_reference.py MODEL.onnx PROG REFERENCE.npz [--rtol R] [--atol A] [--threads T]

REFERENCE.npz holds an array for every graph input and every graph output of MODEL.onnx,
by name (e.g. what PyTorch computed on the module that was exported). Prints, per output,
its shape and the max abs difference; exits 1 if any output differs beyond the tolerance.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

from run_vs_onnxruntime import output_file_name


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("prog")
    parser.add_argument("reference")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    graph = onnx.load(args.model, load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    reference = np.load(args.reference)
    ok = True
    with tempfile.TemporaryDirectory(prefix="moec-vs-ref-") as tmp:
        command = [args.prog, "--output-dir", tmp, "--threads", str(args.threads)]
        for value in graph.input:
            if value.name in initializers:
                continue
            path = os.path.join(tmp, "input_" + output_file_name(value.name))
            np.save(path, reference[value.name])
            command += ["--input", f"{value.name}={path}"]
        subprocess.run(command, check=True)
        for value in graph.output:
            want = reference[value.name]
            got = np.load(os.path.join(tmp, output_file_name(value.name)))
            if got.shape != want.shape or got.dtype != want.dtype:
                print(f"{value.name}: moec gives {got.dtype}{list(got.shape)}, the reference "
                      f"{want.dtype}{list(want.shape)}")
                ok = False
                continue
            max_abs = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
            close = np.allclose(got, want, rtol=args.rtol, atol=args.atol)
            ok &= close
            print(f"{value.name}: {got.dtype}{list(got.shape)} max abs diff {max_abs:.3g}  "
                  f"{'ok' if close else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
