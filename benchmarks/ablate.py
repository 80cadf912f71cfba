#!/usr/bin/env python3
"""What each optional pass of moec buys on one model: compile it with each one off.

    .venv/bin/python benchmarks/ablate.py MODEL.onnx [--tokens 1,16,128,512] [--runs N]
        [--threads T] [--variants all|fusion] [--dim NAME=SIZE ...] [--output PREFIX]
        [--moec PATH]

Compiles MODEL with the full pipeline, with each optional pass that `moec --list-passes`
shows disabled in turn (`--variants fusion`: only the fusions, the kernel stage's optional
passes), and with every fusion off
(`unfused`). Runs each variant at each token count on the same random inputs as
onnxruntime, and, with --runs N > 0, times it (`--bench N`, the median). The token count is
the size of the first float input's last dynamic dimension; its other dynamic dimensions are
1 unless --dim sets them.

Writes PREFIX.md and PREFIX.csv (default PREFIX: ablation), one row per variant and token
count: the largest absolute difference from onnxruntime and whether it is within the
tolerance (rtol 1e-4, atol 1e-5, as scripts/run_vs_onnxruntime.py), the median time and the
speed-up over `unfused` at that token count, the compile time, the executable's peak
resident memory while it runs, and its size. Prints a progress line per variant on stderr.
Exits 1 when a variant fails to compile or differs from onnxruntime: a pass that breaks
when a neighbour is off is a bug.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from run_vs_onnxruntime import make_inputs, output_file_name, run_onnxruntime  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5
FUSION_STAGE = "kernel"
COLUMNS = ["variant", "tokens", "max_abs_error", "correct", "median_ms", "speedup_vs_unfused",
           "compile_s", "peak_rss_mib", "exe_kib"]


def optional_passes(moec):
    """(stage, name) of the optional passes, in pipeline order, as `moec --list-passes`
    shows them."""
    listing = subprocess.run([moec, "--list-passes"], check=True, capture_output=True,
                             text=True).stdout
    return [(line.split()[0], line.split()[-1]) for line in listing.splitlines()
            if line.split()[2] == "optional"]


def variants(moec, which):
    """(name, disabled passes) for every variant: full, each pass off, every fusion off."""
    passes = optional_passes(moec)
    fusions = [name for stage, name in passes if stage == FUSION_STAGE]
    ablated = fusions if which == "fusion" else [name for _, name in passes]
    return ([("full", [])] + [(f"no {name}", [name]) for name in ablated] +
            [("unfused", fusions)])


def token_dims(model, tokens, fixed):
    """The dynamic dimensions' sizes for `tokens` tokens (see the module's description)."""
    initializers = {init.name for init in model.graph.initializer}
    dims = {}
    for value in model.graph.input:
        tensor_type = value.type.tensor_type
        if value.name in initializers or tensor_type.elem_type not in (
                onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16):
            continue
        params = [d.dim_param for d in tensor_type.shape.dim if d.dim_param]
        for param in params:
            dims[param] = 1
        if params:
            dims[params[-1]] = tokens
        break
    dims.update(fixed)
    return dims


GNU_TIME = "/usr/bin/time"


def run_measured(args, tmp):
    """Runs `args`; returns its stdout and its peak resident memory in MiB (None without GNU
    time). GNU time measures it: a child of this Python process would count Python's own
    memory, which the kernel keeps as the high-water mark across exec."""
    report = os.path.join(tmp, "peak_kib")
    timed = [GNU_TIME, "-f", "%M", "-o", report] if os.path.exists(GNU_TIME) else []
    out = subprocess.run(timed + args, check=True, capture_output=True, text=True).stdout
    if not timed:
        return out, None
    with open(report) as f:
        return out, int(f.read().split()[-1]) / 1024

def run_variant(exe, inputs, expected, names, tmp, runs, threads):
    """(max abs error, correct, median ms or None, peak RSS MiB) of one token count."""
    out_dir = os.path.join(tmp, "out")
    args = [exe, "--threads", str(threads)]
    for name, array in inputs.items():
        path = os.path.join(tmp, "input_" + output_file_name(name))
        np.save(path, array)
        args += ["--input", f"{name}={path}"]
    _, peak = run_measured(args + ["--output-dir", out_dir], tmp)
    error, correct = 0.0, True
    for name, want in zip(names, expected):
        got = np.load(os.path.join(out_dir, output_file_name(name)))
        if got.shape != want.shape:
            return float("inf"), False, None, peak
        if want.size:
            error = max(error, float(np.max(np.abs(got.astype(np.float64) - want))))
        correct &= bool(np.allclose(got, want, rtol=RTOL, atol=ATOL))
    median = None
    if runs:
        report, bench_peak = run_measured(args + ["--bench", str(runs)], tmp)
        median = float(json.loads(report.strip().splitlines()[-1])["median_ms"])
        if peak is not None:
            peak = max(peak, bench_peak)
    return error, correct, median, peak


def write_tables(rows, prefix, model_path):
    with open(prefix + ".csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    def cell(value, fmt):
        return "" if value is None else format(value, fmt)

    with open(prefix + ".md", "w") as f:
        f.write(f"Ablation of {os.path.basename(model_path)}\n\n")
        f.write("| variant | tokens | max error vs onnxruntime | median ms | speed-up over "
                "unfused | compile s | peak MiB | executable KiB |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|---:|\n")
        for row in rows:
            error = cell(row["max_abs_error"], ".2g") + ("" if row["correct"] else " WRONG")
            f.write(f"| {row['variant']} | {row['tokens']} | {error} | "
                    f"{cell(row['median_ms'], '.3f')} | "
                    f"{cell(row['speedup_vs_unfused'], '.2f')} | {row['compile_s']:.2f} | "
                    f"{cell(row['peak_rss_mib'], '.1f')} | {row['exe_kib']:.0f} |\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--tokens", default="1,16,128,512")
    parser.add_argument("--runs", type=int, default=20,
                        help="timed runs per measurement (0: check correctness only)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--variants", choices=["all", "fusion"], default="all")
    parser.add_argument("--dim", action="append", default=[], metavar="NAME=SIZE")
    parser.add_argument("--output", default="ablation", metavar="PREFIX")
    parser.add_argument("--moec", default=os.path.join(REPO, "build", "bin", "moec"))
    args = parser.parse_args()

    model = onnx.load(args.model)
    token_counts = [int(t) for t in args.tokens.split(",")]
    fixed = {k: int(v) for k, v in (d.split("=") for d in args.dim)}
    rng = np.random.default_rng(0)
    cases = []
    for tokens in token_counts:
        inputs = make_inputs(model, token_dims(model, tokens, fixed), rng)
        names, expected, _ = run_onnxruntime(args.model, inputs, 0, args.threads)
        cases.append((tokens, inputs, names, [e.astype(np.float64) for e in expected]))

    rows, all_correct = [], True
    all_variants = variants(args.moec, args.variants)
    with tempfile.TemporaryDirectory(prefix="moec-ablate-") as tmp:
        for index, (variant, disabled) in enumerate(all_variants, 1):
            exe = os.path.join(tmp, f"variant{index}")
            start = time.perf_counter()
            compiled = subprocess.run(
                [args.moec, args.model, "-o", exe] + [f"--disable-pass={n}" for n in disabled],
                capture_output=True, text=True)
            compile_s = time.perf_counter() - start
            if compiled.returncode != 0:
                print(f"[{index}/{len(all_variants)}] {variant}: compile FAILED\n"
                      f"{compiled.stderr}", file=sys.stderr)
                all_correct = False
                continue
            size_kib = sum(os.path.getsize(p) for p in (exe, exe + ".weights")
                           if os.path.exists(p)) / 1024
            progress = []
            for tokens, inputs, names, expected in cases:
                error, correct, median, peak = run_variant(exe, inputs, expected, names, tmp,
                                                           args.runs, args.threads)
                all_correct &= correct
                rows.append({"variant": variant, "tokens": tokens, "max_abs_error": error,
                             "correct": correct, "median_ms": median,
                             "speedup_vs_unfused": None, "compile_s": compile_s,
                             "peak_rss_mib": peak, "exe_kib": size_kib})
                timing = f" {median:.3f} ms" if median is not None else ""
                progress.append(f"{tokens} tokens{timing} {'ok' if correct else 'WRONG'}")
            print(f"[{index}/{len(all_variants)}] {variant}: compiled in {compile_s:.1f} s; "
                  + ", ".join(progress), file=sys.stderr)

    unfused = {row["tokens"]: row["median_ms"] for row in rows if row["variant"] == "unfused"}
    for row in rows:
        if row["median_ms"] and unfused.get(row["tokens"]):
            row["speedup_vs_unfused"] = unfused[row["tokens"]] / row["median_ms"]
    write_tables(rows, args.output, args.model)
    compiled_variants = {row["variant"] for row in rows}
    print(f"{len(compiled_variants)} of {len(all_variants)} variants compiled; "
          + ("every variant matches onnxruntime" if all_correct else "some variant is WRONG"))
    return 0 if all_correct else 1


if __name__ == "__main__":
    sys.exit(main())
