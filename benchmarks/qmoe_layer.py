#!/usr/bin/env python3
"""Times a Mixtral-sized onnxruntime QMoE layer compiled by moec against onnxruntime.

    PYTHON benchmarks/qmoe_layer.py MOEC [--threads 1] [--tokens 1,128] [--bits 4]
        [--block 32] [--seconds S] [--expanded-tokens 1] [--smoke]

PYTHON needs onnxruntime with QMoE's CPU kernel for block-wise 4-bit experts (1.32, as in
scripts/real_exports' environment). Builds one com.microsoft.QMoE node as
scripts/quantized_models/make_fixtures.py builds its fixtures (hidden 1024, ffn 2816, 8
experts, top 2, interleaved SwiGLU with GPT-OSS's alpha, beta and limit, symmetric
`--bits` codes in blocks of `--block`), compiles it with moec twice: as moec compiles it
(moec-raise-ort-qmoe: a moe.layer whose grouped GEMM reads the packed weights) and with
that raise disabled (moec-expand-quantized-ops: every expert on every token, weights
dequantized at run time; timed at --expanded-tokens only, it takes seconds), checks each
output against onnxruntime's, and prints a markdown table of median milliseconds:
the executables' `--bench N --threads T`, onnxruntime's session (intra_op_num_threads=T,
sequential) after a warm-up, N runs of about --seconds each; then `uptime`.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "scripts", "quantized_models"))
import make_fixtures  # noqa: E402
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
from moe_layers import runs_for, time_moec  # noqa: E402


def median_ms(run, seconds):
    """The median of N timed calls of `run` after one, N making about `seconds`."""
    start = time.perf_counter()
    run()
    runs = runs_for(seconds, time.perf_counter() - start)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("moec")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tokens", default="1,128")
    parser.add_argument("--expanded-tokens", default="1")
    parser.add_argument("--bits", type=int, default=4)
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, short timings")
    args = parser.parse_args()
    import onnxruntime as ort
    # Older CPU kernels read block-wise QMoE differently (1.23 gives other results).
    if tuple(int(part) for part in ort.__version__.split(".")[:2]) < (1, 32):
        sys.exit(f"onnxruntime {ort.__version__}: QMoE needs 1.32 or newer here (the Python of "
                 "scripts/real_exports)")

    sizes = dict(hidden=64, inter=32, experts=4, top_k=2) if args.smoke else \
        dict(hidden=1024, inter=2816, experts=8, top_k=2)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        model = make_fixtures.qmoe_model("qmoe_layer", args.bits, args.block, False, "swiglu", 1,
                                         rng, **sizes)
        model_path = os.path.join(tmp, "qmoe_layer.onnx")
        onnx.save(model, model_path)
        programs = {"raised": [], "expanded": ["--disable-pass=moec-raise-ort-qmoe"]}
        for variant, flags in programs.items():
            subprocess.run([args.moec, model_path, "-o", os.path.join(tmp, variant)] + flags,
                           check=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        packed = sum(t.raw_data.__len__() for t in model.graph.initializer)
        print(f"QMoE hidden {sizes['hidden']}, ffn {sizes['inter']}, {sizes['experts']} experts, "
              f"top {sizes['top_k']}, int{args.bits} blocks of {args.block}, {args.threads} "
              f"thread(s); {packed / 2**20:.1f} MiB of initializers; onnxruntime "
              f"{ort.__version__}")
        print("| tokens | moec ms | moec, raise disabled ms | onnxruntime ms | onnxruntime / moec |")
        print("|---|---|---|---|---|")
        expanded_tokens = {int(t) for t in args.expanded_tokens.split(",") if t}
        for tokens in [int(t) for t in args.tokens.split(",")]:
            feeds = {"input": rng.standard_normal((tokens, sizes["hidden"])).astype(np.float32),
                     "router_probs": rng.standard_normal((tokens, sizes["experts"]))
                     .astype(np.float32)}
            paths = {}
            for name, value in feeds.items():
                paths[name] = os.path.join(tmp, f"{name}.npy")
                np.save(paths[name], value)
            want = session.run(None, feeds)[0]
            ort_ms = median_ms(lambda: session.run(None, feeds), args.seconds)
            times = {}
            for variant in programs:
                if variant == "expanded" and tokens not in expanded_tokens:
                    continue
                times[variant] = time_moec(os.path.join(tmp, variant), paths, args.threads,
                                           args.seconds, tmp)
                got = np.load(os.path.join(tmp, "output.npy"))
                error = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
                if error > 1e-4:
                    sys.exit(f"{variant} at {tokens} tokens differs from onnxruntime: {error:.2e}")
            expanded = f"{times['expanded']:.2f}" if "expanded" in times else "-"
            print(f"| {tokens} | {times['raised']:.3f} | {expanded} | {ort_ms:.3f} | "
                  f"{ort_ms / times['raised']:.2f}x |")
    print(subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
