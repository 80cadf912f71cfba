#!/usr/bin/env python3
"""Times whole models compiled by moec against onnxruntime (and IREE) on the same .onnx.

    .venv/bin/python benchmarks/whole_models.py [--models NAME,...] [--tokens 1,16,128,512]
        [--threads 1,2] [--seconds S] [--output PREFIX] [--moec PATH] [--iree-bin DIR]
        [--no-iree] [--smoke]

The models, each generated into a temporary directory at a Mixtral-like width (hidden 1024,
expert ffn 2816, 8 experts, top-2, f32; --smoke: 16 wide, 4 experts, for the test suite):
- moe-hf-loop, moe-dense-masked: the MoE layer in both export styles of
  benchmarks/moe_layers.py (Debian's torch);
- decoder-layer: scripts/make_decoder_layer.py (Debian's torch): RMSNorm, causal attention
  with rotary embeddings and grouped KV heads (8 heads of 128, 2 KV heads), the MoE layer,
  residual adds; input [1, tokens, hidden];
- causallm: scripts/real_exports/make_wide_causallm.py (the export toolchain's Python,
  .venv-export, with transformers: scripts/real_exports/setup_venv.sh): 1-layer
  MixtralForCausalLM, batched_mm experts, torch's dynamo exporter at opset 20, vocabulary
  4096; input_ids [1, tokens]. Skipped, with the reason in the table, without .venv-export.

Each model is compiled once by moec (and by IREE: iree-import-onnx, then iree-compile for
llvm-cpu on the host CPU, where the tools are found in --iree-bin, default .venv-iree/bin:
`python3 -m venv .venv-iree && .venv-iree/bin/pip install iree-base-compiler
iree-base-runtime onnx`). Then, per thread count and token count, on the same random input:
moec's output is checked against onnxruntime's (max |moec - ort| <= 1e-3 * max |ort| + 1e-5)
and both are timed: the executable's `--bench N --threads T` median, an onnxruntime session
(intra_op_num_threads = T, inter_op_num_threads = 1, sequential) median of N runs after a
warm-up, IREE's iree-benchmark-module median (local-task device, T worker groups), with N
chosen so that each timing takes about --seconds. IREE's output is checked the same way;
a wrong IREE output is shown, not timed.

Writes PREFIX.md and PREFIX.csv (default PREFIX: whole_models): one row per model, threads
and tokens, with the speed-up = onnxruntime time / moec time (above 1: moec is faster).
Ratios are reported, never asserted. A progress line per cell goes to stderr. Exits 1 when
moec fails to compile a model or its output differs from onnxruntime's.
"""
import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
sys.path.insert(0, os.path.join(REPO, "scripts"))
from moe_layers import TORCH_PYTHON, onnxruntime_session, runs_for, time_moec  # noqa: E402
from moe_layers import export as export_moe_layer  # noqa: E402
from run_vs_onnxruntime import output_file_name  # noqa: E402

RTOL, ATOL = 1e-3, 1e-5
COLUMNS = ["model", "threads", "tokens", "moec_ms", "onnxruntime_ms", "speedup",
           "iree_ms", "iree_speedup", "max_rel_error", "correct", "note"]

FULL = dict(hidden=1024, ffn=2816, experts=8, k=2, heads=8, kv_heads=2, vocab=4096)
SMOKE = dict(hidden=16, ffn=32, experts=4, k=2, heads=2, kv_heads=1, vocab=64)


def make_moe_layer(style):
    def make(tmp, sizes):
        moe_sizes = {name: sizes[name] for name in ("hidden", "ffn", "experts", "k")}
        return export_moe_layer(style, tmp, moe_sizes)
    return make


def size_flags(sizes, names):
    return [f"--{name.replace('_', '-')}={sizes[name]}" for name in names]


def make_decoder_layer(tmp, sizes):
    path = os.path.join(tmp, "decoder_layer.onnx")
    subprocess.run([TORCH_PYTHON, os.path.join(REPO, "scripts", "make_decoder_layer.py"), path]
                   + size_flags(sizes, ["hidden", "heads", "kv_heads", "ffn", "experts", "k"]),
                   check=True, stderr=subprocess.DEVNULL)
    return path


def make_causallm(tmp, sizes):
    if not os.path.exists(sizes["export_python"]):
        raise FileNotFoundError(f"no {sizes['export_python']} "
                                "(scripts/real_exports/setup_venv.sh)")
    path = os.path.join(tmp, "causallm.onnx")
    subprocess.run([sizes["export_python"],
                    os.path.join(REPO, "scripts", "real_exports", "make_wide_causallm.py"), path]
                   + size_flags(sizes, ["hidden", "heads", "kv_heads", "ffn", "experts", "k",
                                        "vocab"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def hidden_states(tokens, sizes, rng):
    return {"x": rng.standard_normal((1, tokens, sizes["hidden"])).astype(np.float32)}


def token_ids(tokens, sizes, rng):
    return {"input_ids": rng.integers(0, sizes["vocab"], (1, tokens)).astype(np.int64)}


def batched_mm_gather_bytes(tokens, sizes):
    """The expert weights the batched_mm export gathers for each token: [T * k, 2I, H] and
    [T * k, H, I] floats, which onnxruntime (and IREE) materialize."""
    return tokens * sizes["k"] * 3 * sizes["hidden"] * sizes["ffn"] * 4


# name: (generator, input maker, bytes a reference runtime materializes or None)
MODELS = {
    "moe-hf-loop": (make_moe_layer("hf-loop"), hidden_states, None),
    "moe-dense-masked": (make_moe_layer("dense-masked"), hidden_states, None),
    "decoder-layer": (make_decoder_layer, hidden_states, None),
    "causallm": (make_causallm, token_ids, batched_mm_gather_bytes),
}
# The machine is shared: a reference run that would materialize more than this is skipped.
REFERENCE_MEMORY_LIMIT = 2 << 30


def save_inputs(inputs, tmp):
    paths = {}
    for name, array in inputs.items():
        paths[name] = os.path.join(tmp, f"input_{re.sub(r'[^A-Za-z0-9_]', '_', name)}.npy")
        np.save(paths[name], array)
    return paths


def relative_error(got, want):
    """max |got - want| / max |want|, and whether it is within the tolerance."""
    if got.shape != want.shape:
        return float("inf"), False
    difference = float(np.max(np.abs(got.astype(np.float64) - want)))
    scale = float(np.max(np.abs(want)))
    return difference / max(scale, 1e-30), difference <= RTOL * scale + ATOL


def time_onnxruntime(session, inputs, seconds):
    start = time.perf_counter()
    outputs = session.run(None, inputs)
    runs = runs_for(seconds, time.perf_counter() - start)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, inputs)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000, outputs[0]


class IREE:
    """IREE's llvm-cpu backend through its command-line tools."""

    def __init__(self, bin_dir):
        self.bin_dir = bin_dir

    def tool(self, name):
        return os.path.join(self.bin_dir, name)

    def available(self):
        return all(os.path.exists(self.tool(name)) for name in
                   ("iree-import-onnx", "iree-compile", "iree-run-module",
                    "iree-benchmark-module"))

    def compile(self, model_path, tmp):
        """(module path, entry function) or raises CalledProcessError with IREE's message."""
        mlir = os.path.join(tmp, "iree.mlir")
        module = os.path.join(tmp, "iree.vmfb")
        subprocess.run([self.tool("iree-import-onnx"), model_path, "-o", mlir], check=True,
                       capture_output=True, text=True)
        with open(mlir) as f:
            function = re.search(r"func\.func @([\w$.-]+)", f.read()).group(1)
        subprocess.run([self.tool("iree-compile"), "--iree-hal-target-device=local",
                        "--iree-hal-local-target-device-backends=llvm-cpu",
                        "--iree-llvmcpu-target-cpu=host", mlir, "-o", module], check=True,
                       capture_output=True, text=True)
        os.remove(mlir)
        return module, function

    def run(self, module, function, paths, threads, seconds, tmp):
        """(median ms, first output)."""
        common = ["--device=local-task", f"--task_topology_max_group_count={threads}",
                  f"--module={module}", f"--function={function}"]
        common += [f"--input=@{path}" for path in paths.values()]
        output = os.path.join(tmp, "iree_output.npy")
        subprocess.run([self.tool("iree-run-module")] + common + [f"--output=@{output}"],
                       check=True, capture_output=True, text=True)
        report = subprocess.run(
            [self.tool("iree-benchmark-module")] + common +
            ["--benchmark_format=json", "--benchmark_repetitions=5",
             f"--benchmark_min_time={max(seconds / 5, 0.01)}s"],
            check=True, capture_output=True, text=True).stdout
        medians = [b for b in json.loads(report)["benchmarks"]
                   if b.get("aggregate_name") == "median"]
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[medians[0]["time_unit"]]
        return medians[0]["real_time"] * scale, np.load(output)


def measure(model_name, program, session, iree, iree_module, module_note, inputs, threads,
            tokens, reference_bytes, seconds, tmp):
    """One cell: moec's time, and where the references can run it, onnxruntime's and IREE's
    and the check of moec's output (and IREE's) against onnxruntime's."""
    paths = save_inputs(inputs, tmp)
    moec_ms = time_moec(program, paths, threads, seconds, tmp)
    row = {"model": model_name, "threads": threads, "tokens": tokens, "moec_ms": moec_ms,
           "onnxruntime_ms": None, "speedup": None, "iree_ms": None, "iree_speedup": None,
           "max_rel_error": None, "correct": None, "note": ""}
    if reference_bytes and reference_bytes > REFERENCE_MEMORY_LIMIT:
        row["note"] = (f"onnxruntime and IREE not run: the export gathers "
                       f"{reference_bytes / 2**30:.1f} GiB of expert weights")
        print(f"{model_name}, {threads} thread(s), {tokens} tokens: moec {moec_ms:.3f} ms; "
              + row["note"], file=sys.stderr, flush=True)
        return row
    ort_ms, want = time_onnxruntime(session, inputs, seconds)
    got = np.load(os.path.join(tmp, output_file_name(session.get_outputs()[0].name)))
    rel_error, correct = relative_error(got, want)
    notes = [] if correct else [f"WRONG OUTPUT (rel. error {rel_error:.2g})"]
    iree_ms = None
    if iree_module is not None:
        try:
            iree_ms, iree_got = iree.run(*iree_module, paths, threads, seconds, tmp)
            iree_error, iree_correct = relative_error(iree_got, want)
            if not iree_correct:
                notes.append(f"IREE's output differs from onnxruntime's "
                             f"(rel. error {iree_error:.2g}), not timed")
                iree_ms = None
        except subprocess.CalledProcessError as failure:
            notes.append(f"IREE fails: {first_line(failure)}")
    elif module_note:
        notes.append(module_note)
    row.update(onnxruntime_ms=ort_ms, speedup=ort_ms / moec_ms, iree_ms=iree_ms,
               iree_speedup=ort_ms / iree_ms if iree_ms else None, max_rel_error=rel_error,
               correct=correct, note="; ".join(notes))
    print(f"{model_name}, {threads} thread(s), {tokens} tokens: moec {moec_ms:.3f} ms, "
          f"onnxruntime {ort_ms:.3f} ms ({row['speedup']:.2f}x)"
          + (f", IREE {iree_ms:.3f} ms" if iree_ms else "") + (" WRONG" if not correct else ""),
          file=sys.stderr, flush=True)
    return row


def first_line(error):
    text = getattr(error, "stderr", None) or str(error)
    lines = [line for line in text.strip().splitlines() if "error" in line.lower()]
    line = (lines or text.strip().splitlines() or [type(error).__name__])[0]
    return line.strip().rstrip(";").strip()[:160]


def write_tables(rows, prefix, header):
    with open(prefix + ".csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    def cell(value, fmt):
        return "" if value is None else format(value, fmt)

    with open(prefix + ".md", "w") as f:
        f.write(header + "\n\n")
        f.write("| model | threads | tokens | moec ms | onnxruntime ms | moec speed-up | "
                "IREE ms | IREE speed-up | notes |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
        for row in rows:
            speedup = cell(row["speedup"], ".2f") + ("x" if row["speedup"] else "")
            iree = cell(row["iree_speedup"], ".2f") + ("x" if row["iree_speedup"] else "")
            f.write(f"| {row['model']} | {row['threads']} | {row['tokens']} | "
                    f"{cell(row['moec_ms'], '.3f')} | {cell(row['onnxruntime_ms'], '.3f')} | "
                    f"{speedup} | {cell(row['iree_ms'], '.3f')} | {iree} | {row['note']} |\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--tokens", default="1,16,128,512")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="about how long each timing takes (default 3)")
    parser.add_argument("--output", default="whole_models", metavar="PREFIX")
    parser.add_argument("--moec", default=os.path.join(REPO, "build", "bin", "moec"))
    parser.add_argument("--iree-bin", default=os.path.join(REPO, ".venv-iree", "bin"))
    parser.add_argument("--no-iree", action="store_true", help="do not try IREE")
    parser.add_argument("--export-python",
                        default=os.path.join(REPO, ".venv-export", "bin", "python"),
                        help="the Python with transformers that exports the causal LM")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes and short timings, to check that the script works")
    args = parser.parse_args()
    sizes = dict(SMOKE if args.smoke else FULL, export_python=args.export_python)
    if args.smoke:
        args.seconds = 0.05
    token_counts = [int(t) for t in args.tokens.split(",")]
    thread_counts = [int(t) for t in args.threads.split(",")]
    iree = None if args.no_iree else IREE(args.iree_bin)
    iree_note = ("IREE not run (--no-iree)" if iree is None else
                 None if iree.available() else f"IREE not installed (no tools in {args.iree_bin})")
    if iree_note:
        iree = None

    rows, ok = [], True
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="moec-whole-models-") as tmp:
        for model_name in args.models.split(","):
            generate, make_inputs, reference_bytes = MODELS[model_name]

            def skip(note):
                print(f"{model_name}: {note}", file=sys.stderr)
                rows.append({"model": model_name, "threads": "", "tokens": "", "moec_ms": None,
                             "onnxruntime_ms": None, "speedup": None, "iree_ms": None,
                             "iree_speedup": None, "max_rel_error": None, "correct": None,
                             "note": note})

            try:
                model_path = generate(tmp, sizes)
            except (OSError, subprocess.CalledProcessError) as error:
                skip(f"not generated: {first_line(error)}")
                continue
            program = os.path.join(tmp, model_name)
            start = time.perf_counter()
            compiled = subprocess.run([args.moec, model_path, "-o", program],
                                      capture_output=True, text=True)
            compile_s = time.perf_counter() - start
            if compiled.returncode != 0:
                ok = False
                skip(f"moec failed: {first_line(compiled.stderr)}")
                continue
            module_note = iree_note
            iree_module = None
            if iree is not None:
                try:
                    iree_module = iree.compile(model_path, tmp)
                except subprocess.CalledProcessError as error:
                    module_note = f"IREE does not compile it: {first_line(error)}"
            print(f"{model_name}: moec compiled it in {compile_s:.1f} s"
                  + (f"; {module_note}" if module_note else ""), file=sys.stderr)
            for threads in thread_counts:
                session = onnxruntime_session(model_path, threads)
                for tokens in token_counts:
                    row = measure(model_name, program, session, iree, iree_module, module_note,
                                  make_inputs(tokens, sizes, rng), threads, tokens,
                                  reference_bytes and reference_bytes(tokens, sizes),
                                  args.seconds, tmp)
                    rows.append(row)
                    ok &= row["correct"] is not False
            os.remove(program)
            os.remove(model_path)
    header = (f"moec vs onnxruntime{'' if iree_note else ' and IREE'}, "
              f"hidden {sizes['hidden']}, ffn {sizes['ffn']}, {sizes['experts']} experts, "
              f"top-{sizes['k']}, f32; speed-up = onnxruntime ms / moec ms")
    write_tables(rows, args.output, header)
    print(f"wrote {args.output}.md and {args.output}.csv; "
          + ("moec matches onnxruntime everywhere" if ok else "moec FAILED or differs"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
