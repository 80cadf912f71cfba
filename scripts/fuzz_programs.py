#!/usr/bin/env python3
"""Fuzzes moec past its front door: mutates small ONNX models through the ONNX API (op types,
arity, rewiring, attributes, declared shapes), compiles each mutant, runs what compiles on
hostile input values (indices and sizes out of range, empty and odd shapes), and counts every
signal, hang, or exit code 2 without exactly one line on stderr as a failure.

  fuzz_programs.py --moec build/bin/moec --seconds 300 [--seed N] [--artifacts DIR]
  fuzz_programs.py --moec build/bin/moec --mutants 40 --seed 1   (the same mutants each time)

Seeds are the models of test/e2e/run-time-checks/Inputs. A failing mutant is kept in
ARTIFACTS (model, inputs, and the command that failed). Exit code 1 if anything failed.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INPUTS = os.path.join(REPO, "test", "e2e", "run-time-checks", "Inputs")
SEEDS = [("indexing_models.py", op) for op in
         ["Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND"]] + [
    ("shape_models.py", case) for case in
    ["add-broadcast", "slice-step-zero", "slice-axis", "cumsum-axis", "range-delta-zero",
     "reshape-count", "matmul-inner", "split-sizes", "topk-k"]]
OP_TYPES = ["Add", "Mul", "Relu", "Gather", "GatherElements", "Reshape", "Transpose", "Slice",
            "MatMul", "Concat", "Split", "TopK", "CumSum", "Range", "Expand", "Tile",
            "ScatterND", "OneHot", "Squeeze", "Unsqueeze", "ReduceSum", "Softmax", "Where"]
DTYPES = {"float32": np.float32, "int64": np.int64, "int32": np.int32, "bool": np.bool_,
          "float16": np.float16, "float64": np.float64, "uint8": np.uint8, "int8": np.int8}
HOSTILE_INTS = [0, 1, -1, 2, 3, 7, -5, 10, -11, 2**31 - 1, -2**31, 2**40, 10**8]


def make_seed(script, case, folder):
    subprocess.run([sys.executable, os.path.join(INPUTS, script), case, folder], check=True,
                   capture_output=True)
    name = case if script == "shape_models.py" else case
    return onnx.load(os.path.join(folder, name + ".onnx"))


def mutate(model, rng):
    graph = model.graph
    node = rng.choice(graph.node)
    names = [i.name for i in graph.input] + [i.name for i in graph.initializer] + \
        [o for n in graph.node for o in n.output]
    kind = rng.choice(["op", "arity", "rewire", "attribute", "shape", "none"])
    if kind == "op":
        node.op_type = rng.choice(OP_TYPES)
    elif kind == "arity":
        if node.input and rng.random() < 0.5:
            del node.input[rng.randrange(len(node.input))]
        else:
            node.input.append(rng.choice(names + [""]))
    elif kind == "rewire" and node.input:
        node.input[rng.randrange(len(node.input))] = rng.choice(names)
    elif kind == "attribute":
        name = rng.choice(["axis", "keepdims", "batch_dims", "largest", "allowzero", "perm"])
        for attribute in list(node.attribute):
            if attribute.name == name:
                node.attribute.remove(attribute)
        value = [rng.choice(HOSTILE_INTS)] * rng.randint(1, 3) if name == "perm" else \
            rng.choice(HOSTILE_INTS)
        node.attribute.append(helper.make_attribute(name, value))
    elif kind == "shape" and graph.input:
        dims = rng.choice(graph.input).type.tensor_type.shape.dim
        if dims:
            dim = dims[rng.randrange(len(dims))]
            if rng.random() < 0.5:
                dim.dim_value = rng.choice([0, 1, 2, 5])
            else:
                dim.dim_param = rng.choice(["n", "m", "q"])
    return model


def input_specs(program):
    info = subprocess.run([program, "--info"], capture_output=True, text=True, timeout=10).stdout
    section, specs = None, []
    for line in info.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            section = line[:-1]
        elif section == "inputs":
            match = re.match(r"\s+(.*): (\S+) (.*)$", line)
            if match:
                specs.append(match.groups())
    return specs


def hostile_inputs(specs, rng, folder):
    bound = {}
    arguments = []
    for name, dtype, shape_text in specs:
        shape = []
        for dim in shape_text.strip("[]").split(","):
            dim = dim.strip()
            if not dim or dim == "-":
                continue
            if dim.isdigit():
                shape.append(int(dim))
            else:
                shape.append(bound.setdefault(dim, rng.choice([0, 1, 2, 3, 5])))
        numpy_type = DTYPES.get(dtype, np.float32)
        if np.issubdtype(numpy_type, np.integer):
            values = rng.choice([lambda: rng.choice(HOSTILE_INTS), lambda: rng.randint(-6, 6)])
            array = np.array([values() for _ in range(int(np.prod(shape)))], dtype=np.int64)
            array = array.astype(numpy_type).reshape(shape)
        else:
            array = np.asarray(np.random.default_rng(rng.randrange(2**32)).standard_normal(shape))
            array = array.astype(numpy_type)
        path = os.path.join(folder, f"input{len(arguments)}.npy")
        np.save(path, array)
        arguments += ["--input", f"{name}={path}"]
    return arguments


def verdict(result):
    """Why `result` (a CompletedProcess, or None after a timeout) is a failure, or None."""
    if result is None:
        return "hang"
    if result.returncode < 0:
        return f"signal {-result.returncode}"
    if result.returncode not in (0, 1, 2):
        return f"exit code {result.returncode}"
    if result.returncode == 2 and len(result.stderr.splitlines()) != 1:
        return f"exit code 2 with {len(result.stderr.splitlines())} lines on stderr"
    if "LLVM ERROR" in result.stderr or "Assertion" in result.stderr:
        return "internal error text"
    return None


def run(command, timeout):
    try:
        return subprocess.run(command, capture_output=True, text=True, errors="replace",
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moec", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--mutants", type=int,
                        help="stop after this many mutants instead (with --seed: repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--artifacts", default="fuzz-programs-artifacts")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    counts = {"mutants": 0, "compiled": 0, "runs": 0, "failures": 0}
    work = tempfile.mkdtemp(prefix="moec-fuzz-")
    seeds = []
    for script, case in SEEDS:
        folder = os.path.join(work, "seed-" + case)
        os.makedirs(folder)
        seeds.append(make_seed(script, case, folder))
    deadline = time.monotonic() + args.seconds
    while (counts["mutants"] < args.mutants if args.mutants is not None
           else time.monotonic() < deadline):
        folder = os.path.join(work, f"m{counts['mutants']}")
        os.makedirs(folder)
        model = onnx.ModelProto()
        model.CopyFrom(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            mutate(model, rng)
        model_path = os.path.join(folder, "model.onnx")
        onnx.save(model, model_path)
        counts["mutants"] += 1
        program = os.path.join(folder, "prog")
        steps = [[args.moec, model_path, "-o", program]]
        result = run(steps[0], 120)
        if not verdict(result) and result.returncode == 0:
            counts["compiled"] += 1
            steps.append([program] + hostile_inputs(input_specs(program), rng, folder) +
                         ["--output-dir", os.path.join(folder, "out")])
            result = run(steps[1], 30)
            counts["runs"] += 1
        failure = verdict(result)
        if failure:
            counts["failures"] += 1
            kept = os.path.join(args.artifacts, f"failure-{counts['failures']}")
            shutil.copytree(folder, kept, dirs_exist_ok=True)
            with open(os.path.join(kept, "why.txt"), "w") as f:
                f.write(f"{failure}\n{' '.join(steps[-1])}\n{result.stderr if result else ''}")
            print(f"failure {counts['failures']}: {failure} (kept in {kept})", flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    print(" ".join(f"{key}={value}" for key, value in counts.items()))
    sys.exit(1 if counts["failures"] else 0)


if __name__ == "__main__":
    main()
