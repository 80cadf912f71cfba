#!/usr/bin/env python3
"""Times whole MoE layers compiled by moec against onnxruntime, at a Mixtral-like scale.

    .venv/bin/python benchmarks/moe_layers.py [--threads T] [--tokens 1,16,128,512]
        [--hidden 1024] [--ffn 2816] [--experts 8] [--k 2] [--disable-pass NAME ...]
        [--quantize int8|int4] [--seconds S] [--smoke]

Exports two styles of the same layer (softmax top-k routing with renormalization, SwiGLU
experts, f32) with Debian's torch into a temporary directory:
- hf-loop: Hugging Face's loop over experts (scripts/make_moe_models.py, mixtral);
- dense-masked: every expert on every token, a scattered top-k mask, Einsum over stacked
  weights (scripts/make_dense_moe_models.py, mixtral_einsum).
Compiles each with moec (passing on --disable-pass, e.g. to measure the generic path, and
--quantize) and, for each token count, checks moec's output against onnxruntime's (with
--quantize: a relative L2 error within 1.5% for int8, 25% for int4: the dense-masked export's
weights are Gaussian, which absmax scales round worse than hf-loop's uniform ones, ~1.1% and
~21% against ~0.7% and ~12% at the default sizes; docs/quantization.md),
then times the executable
(`--bench N --threads T`, its median) and an onnxruntime session on the same .onnx and input
(intra_op_num_threads=T, inter_op_num_threads=1, sequential execution; median of N runs
after a warm-up). N is chosen so that each measurement takes about --seconds.

Memory bandwidth: the bytes of the experts a batch actually touches (distinct experts chosen
by the router, read from onnxruntime's TopK output, x 3 x hidden x ffn x the bytes of a
weight: 4, or 1 / 0.5 with --quantize plus the scales of groups of 128) over moec's
median time, as a percentage of the machine's copy bandwidth: the best of 5 copies of a
512 MiB float32 array with numpy.copyto, in T slices on T threads, counting the bytes read
and written (as STREAM's Copy does). Prints a markdown table.
--smoke runs a tiny configuration in seconds, for the test suite.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PYTHON = "/usr/bin/python3"


def export(style, out_dir, sizes):
    """Exports the layer in `style` with torch into `out_dir`; returns the model's path."""
    size_flags = [f"--{name}={value}" for name, value in sizes.items()]
    scripts = os.path.join(REPO, "scripts")
    if style == "hf-loop":
        command = [os.path.join(scripts, "make_moe_models.py"), out_dir, "--only=mixtral",
                   "--no-samples"]
        path = os.path.join(out_dir, "mixtral.onnx")
    else:
        path = os.path.join(out_dir, "mixtral_einsum.onnx")
        command = [os.path.join(scripts, "make_dense_moe_models.py"), "--model=mixtral_einsum",
                   f"--output={path}"]
    subprocess.run([TORCH_PYTHON] + command + size_flags, check=True, stderr=subprocess.DEVNULL)
    return path


def copy_bandwidth(mib, threads):
    """Bytes read and written per second copying `mib` MiB with numpy.copyto, split in
    `threads` slices copied in parallel (numpy releases the GIL while it copies); the best
    of 5."""
    source = np.ones(mib * 2**20 // 4, np.float32)
    target = np.empty_like(source)
    slices = [slice(i * source.size // threads, (i + 1) * source.size // threads)
              for i in range(threads)]
    best = float("inf")
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in range(5):
            start = time.perf_counter()
            list(pool.map(lambda part: np.copyto(target[part], source[part]), slices))
            best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best


def onnxruntime_session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def experts_touched(model_path, x):
    """How many distinct experts the router picks for the tokens of `x`."""
    model = onnx.load(model_path)
    topk = [node for node in model.graph.node if node.op_type == "TopK"]
    if len(topk) != 1:
        return None
    model.graph.output.append(onnx.ValueInfoProto(name=topk[0].output[1]))
    with tempfile.NamedTemporaryFile(suffix=".onnx") as probe:
        onnx.save(model, probe.name)
        chosen = onnxruntime_session(probe.name, 1).run([topk[0].output[1]], {"x": x})[0]
    return len(np.unique(chosen))


def runs_for(seconds, one_run_s):
    return int(max(3, min(1000, seconds / max(one_run_s, 1e-6))))


def time_moec(program, inputs, threads, seconds, out_dir):
    """The median ms of `program` on `inputs` (name -> .npy path), after one run that writes
    its outputs to `out_dir` and sets how many runs make about `seconds`."""
    command = [program, "--threads", str(threads)]
    for name, path in inputs.items():
        command += ["--input", f"{name}={path}"]
    start = time.perf_counter()
    subprocess.run(command + ["--output-dir", out_dir], check=True)
    runs = runs_for(seconds, time.perf_counter() - start)
    result = subprocess.run(command + ["--bench", str(runs)], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(result.strip().splitlines()[-1])["median_ms"]


def time_onnxruntime(session, x, seconds):
    start = time.perf_counter()
    (y,) = session.run(None, {"x": x})
    runs = runs_for(seconds, time.perf_counter() - start)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, {"x": x})
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000, y


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moec", default=os.path.join(REPO, "build", "bin", "moec"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--tokens", default="1,16,128,512")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--ffn", type=int, default=2816)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--disable-pass", action="append", default=[], metavar="NAME")
    parser.add_argument("--quantize", choices=["int8", "int4"],
                        help="compile with moec --quantize (onnxruntime stays f32)")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="about how long each timing takes (default 5)")
    parser.add_argument("--copy-mib", type=int, default=512)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes and short timings, to check that the script works")
    args = parser.parse_args()
    if args.smoke:
        args.hidden, args.ffn, args.experts, args.k = 16, 32, 4, 2
        args.tokens, args.seconds, args.copy_mib = "1,4", 0.05, 8
    sizes = dict(hidden=args.hidden, ffn=args.ffn, experts=args.experts, k=args.k)
    token_counts = [int(t) for t in args.tokens.split(",")]
    weight_bytes = {None: 4.0, "int8": 1 + 4 / 128, "int4": 0.5 + 4 / 128}[args.quantize]
    expert_bytes = 3 * args.hidden * args.ffn * weight_bytes
    error_bound = {None: None, "int8": 0.015, "int4": 0.25}[args.quantize]
    moec_flags = [f"--disable-pass={name}" for name in args.disable_pass]
    if args.quantize:
        moec_flags.append(f"--quantize={args.quantize}")

    bandwidth = copy_bandwidth(args.copy_mib, args.threads)
    print(f"copy bandwidth (numpy.copyto of {args.copy_mib} MiB in {args.threads} parallel "
          f"slices, best of 5, bytes read + written): {bandwidth / 1e9:.1f} GB/s; "
          f"{args.threads} thread(s); layer {args.hidden} -> "
          f"{args.ffn}, {args.experts} experts, top-{args.k}, f32"
          + "".join(f"; {flag}" for flag in moec_flags))
    print()
    print("| export | tokens | moec ms | onnxruntime ms | moec speed-up | experts touched "
          "| moec GB/s | % of copy |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="moec-moe-layers-") as tmp:
        for style in ("hf-loop", "dense-masked"):
            model_path = export(style, tmp, sizes)
            program = os.path.join(tmp, style)
            subprocess.run([args.moec, model_path, "-o", program] + moec_flags, check=True)
            session = onnxruntime_session(model_path, args.threads)
            for tokens in token_counts:
                x = rng.standard_normal((1, tokens, args.hidden)).astype(np.float32)
                input_path = os.path.join(tmp, "x.npy")
                np.save(input_path, x)
                moec_ms = time_moec(program, {"x": input_path}, args.threads, args.seconds, tmp)
                got = np.load(os.path.join(tmp, "y.npy"))
                ort_ms, want = time_onnxruntime(session, x, args.seconds)
                error_note = ""
                if error_bound is None:
                    matches = np.allclose(got, want, rtol=1e-3, atol=1e-4)
                else:
                    error = float(np.linalg.norm(got - want) / np.linalg.norm(want))
                    matches = error <= error_bound
                    error_note = f" (rel. L2 error {error:.4f})"
                ok &= matches
                touched, rate, share = "", "", ""
                if tokens <= 16:
                    count = experts_touched(model_path, x)
                    if count is not None:
                        rate_bytes = count * expert_bytes / (moec_ms / 1000)
                        touched = str(count)
                        rate = f"{rate_bytes / 1e9:.1f}"
                        share = f"{100 * rate_bytes / bandwidth:.0f}%"
                print(f"| {style} | {tokens} | {moec_ms:.3f} | {ort_ms:.3f} | "
                      f"{ort_ms / moec_ms:.2f}x{error_note}{'' if matches else ' (WRONG OUTPUT)'} | "
                      f"{touched} | {rate} | {share} |", flush=True)
            os.remove(program)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
