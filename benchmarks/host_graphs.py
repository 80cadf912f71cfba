#!/usr/bin/env python3
"""Times moec-compiled executables against onnxruntime on the same graphs, same threads.

    .venv/bin/python benchmarks/host_graphs.py [--runs N]

For each graph and size: compiles the model with build/bin/moec, checks its output against
onnxruntime, then takes the median of N timed runs of each (after a warm-up) with 1 thread
and with all threads. Prints a markdown table of the ratios (onnxruntime time / moec time:
above 1 means moec is faster).
"""
import argparse
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
import make_examples  # noqa: E402
import run_vs_onnxruntime  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402

GRAPHS = {
    # name: (model builder, [(label, dims)])
    "ffn_block (64 -> 256 -> 64)": (make_examples.ffn_block, [
        ("1 token", {"batch": 1, "seq": 1}),
        ("4 x 32 tokens", {"batch": 4, "seq": 32}),
        ("8 x 128 tokens", {"batch": 8, "seq": 128}),
    ]),
    "attention_block (64 wide, 4 heads)": (make_examples.attention_block, [
        ("1 token", {"batch": 1, "seq": 1}),
        ("4 x 32 tokens", {"batch": 4, "seq": 32}),
    ]),
    "ffn_block (1024 -> 2816 -> 1024)": (lambda: make_examples.ffn_block(1024, 2816), [
        ("16 tokens", {"batch": 1, "seq": 16}),
        ("256 tokens", {"batch": 1, "seq": 256}),
    ]),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    moec = os.path.join(REPO, "build", "bin", "moec")
    threads_all = os.cpu_count()
    rows = []
    with tempfile.TemporaryDirectory(prefix="moec-bench-") as tmp:
        for name, (build, sizes) in GRAPHS.items():
            model_path = os.path.join(tmp, "model.onnx")
            onnx.save(build(), model_path)
            prog = os.path.join(tmp, "prog")
            subprocess.run([moec, model_path, "-o", prog], check=True)
            model = onnx.load(model_path)
            for label, dims in sizes:
                inputs = run_vs_onnxruntime.make_inputs(model, dims, np.random.default_rng(0))
                cells = []
                for threads in (1, threads_all):
                    moec_ms = run_vs_onnxruntime.run_moec(prog, inputs, tmp, args.runs, threads)
                    _, _, ort_ms = run_vs_onnxruntime.run_onnxruntime(model_path, inputs,
                                                                      args.runs, threads)
                    cells.append(f"{moec_ms:.3f} / {ort_ms:.3f} = {ort_ms / moec_ms:.2f}x")
                rows.append(f"| {name} | {label} | {cells[0]} | {cells[1]} |")
    print(f"| graph | size | 1 thread: moec / ort ms | {threads_all} threads: moec / ort ms |")
    print("| --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
