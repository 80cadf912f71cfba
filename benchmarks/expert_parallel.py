#!/usr/bin/env python3
"""Times expert parallelism on the host: one MoE layer compiled unsharded and with
--shard-experts=N, run as N MPI ranks (docs/sharding.md).

    .venv/bin/python benchmarks/expert_parallel.py [--ranks 1,2,4] [--tokens 128]
        [--hidden 1024] [--ffn 2816] [--experts 8] [--k 2] [--runs 20]
        [--quantize none|int8|int4|fp8]

Writes a com.microsoft.MoE layer (ReLU experts, f32, softmax top-k of the router logits it
takes as an input) into a temporary directory, compiles it with moec (from the build tree;
--quantize: its experts quantized, unsharded and sharded alike), and for each N runs `mpirun -np N PROGRAM --bench RUNS --threads 1` (N = 1: the unsharded
program alone), every rank with its own --tokens tokens, so a step handles N x tokens tokens.
Prints a markdown table: the slowest rank's median milliseconds per step, tokens per second
over all ranks, and the all-to-all bytes per step that `moec plan` expects for the layer
(uniform routing; the random router here is close to it).
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOEC = os.path.join(REPO, "build", "bin", "moec")


def write_layer(path, experts, hidden, ffn, k):
    rng = np.random.default_rng(0)
    fc1 = rng.standard_normal((experts, ffn, hidden), np.float32) / np.float32(hidden ** 0.5)
    fc2 = rng.standard_normal((experts, hidden, ffn), np.float32) / np.float32(ffn ** 0.5)
    node = helper.make_node("MoE", ["input", "router_probs", "fc1", "", "fc2"], ["output"],
                            name="moe", domain="com.microsoft", k=k, activation_type="relu")
    graph = helper.make_graph(
        [node], "expert_parallel",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["tokens", hidden]),
         helper.make_tensor_value_info("router_probs", TensorProto.FLOAT, ["tokens", experts])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["tokens", hidden])],
        [numpy_helper.from_array(fc1, "fc1"), numpy_helper.from_array(fc2, "fc2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    save(model, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", default="1,2,4")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--ffn", type=int, default=2816)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quantize", default="none", choices=["none", "int8", "int4", "fp8"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = os.path.join(folder, "layer.onnx")
        write_layer(model, args.experts, args.hidden, args.ffn, args.k)
        rng = np.random.default_rng(1)
        np.save(os.path.join(folder, "input.npy"),
                rng.standard_normal((args.tokens, args.hidden), np.float32))
        np.save(os.path.join(folder, "router.npy"),
                rng.standard_normal((args.tokens, args.experts), np.float32))
        inputs = ["--input", "input=" + os.path.join(folder, "input.npy"),
                  "--input", "router_probs=" + os.path.join(folder, "router.npy")]
        print("| ranks | tokens per step | ms per step (slowest rank's median) | tokens/s | "
              "all-to-all bytes per step (plan) |")
        print("| --- | --- | --- | --- | --- |")
        for ranks in [int(r) for r in args.ranks.split(",")]:
            program = os.path.join(folder, f"layer{ranks}")
            command = [MOEC, model, "-o", program, f"--quantize={args.quantize}"]
            if ranks > 1:
                command.append(f"--shard-experts={ranks}")
            subprocess.run(command, check=True)
            run = [program, *inputs, "--bench", str(args.runs), "--threads", "1"]
            if ranks > 1:
                run = ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", str(ranks),
                       *run]
            lines = subprocess.run(run, check=True, capture_output=True, text=True).stdout
            medians = [json.loads(line)["median_ms"] for line in lines.splitlines()
                       if line.startswith("{")]
            plan = json.loads(subprocess.run(
                [MOEC, "plan", "--json", f"--shard-experts={ranks}", f"--tokens={args.tokens}",
                 model], check=True, capture_output=True, text=True).stdout)
            exchanged = plan["plans"][0]["all_to_all_bytes_per_step"]
            step = max(medians)
            print(f"| {ranks} | {ranks * args.tokens} | {step:.2f} | "
                  f"{ranks * args.tokens / step * 1000:.0f} | {exchanged / 2**20:.2f} MiB |")


if __name__ == "__main__":
    main()
