"""Compiles and runs a com.microsoft.MoE layer whose weights (2.25 GiB) lie in external data,
for large-model.test.

    large_moe.py DIR --max-peak-mib M

makes DIR, writes the model there (large_moe.onnx, large_moe.bin), compiles it with the
`moec` on PATH while measuring moec's peak resident memory, which must stay under M MiB
(docs/moec.md claims about 180; the test allows twice that), runs the program on three tokens and compares its output with numpy, which
reads only the chosen experts' weights (memory-mapped). DIR is removed at the end, whatever
happens: it holds twice the weights.

The weights follow a cheap aperiodic pattern (a seeded block of PERIOD values repeated with
a period prime to every dimension), so that making 2.25 GiB takes seconds, not minutes, and a
weight read from the wrong offset still changes the result.
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import TensorProto, helper, save

EXPERTS = 8
HIDDEN = 4096
INTER = 9216
K = 2
TOKENS = 3
PERIOD = 1_000_003  # a prime: no weight matrix row or expert repeats another's pattern
CHUNK = 1 << 24  # floats written per step: 64 MiB, so the script itself stays small

# (name, shape) in file order. fc1 [E, hidden, inter] and fc2 [E, inter, hidden] is
# onnxruntime's legacy layout, which is moe.layer's: moec uses the mapped weights in place.
# (The current layout, [E, inter, hidden], is transposed into a copy when raised.)
TENSORS = [("fc1_experts_weights", (EXPERTS, HIDDEN, INTER)),
           ("fc1_experts_bias", (EXPERTS, INTER)),
           ("fc2_experts_weights", (EXPERTS, INTER, HIDDEN)),
           ("fc2_experts_bias", (EXPERTS, HIDDEN))]


def pattern_block():
    rng = np.random.default_rng(7)
    return (rng.standard_normal(PERIOD) / np.sqrt(INTER)).astype(np.float32)


def layout():
    """(name, shape, offset) of every tensor in the .bin file."""
    offset, result = 0, []
    for name, shape in TENSORS:
        result.append((name, shape, offset))
        offset += 4 * int(np.prod(shape))
    return result, offset


def write_pattern(path, floats):
    """Writes `floats` f32 values to `path`, element i being pattern_block()[i % PERIOD]."""
    repeated = np.concatenate([pattern_block()] * (CHUNK // PERIOD + 2))
    with open(path, "wb") as f:
        for start in range(0, floats, CHUNK):
            phase = start % PERIOD
            f.write(repeated[phase:phase + min(CHUNK, floats - start)].tobytes())


def make(out_dir):
    tensors, total = layout()
    write_pattern(os.path.join(out_dir, "large_moe.bin"), total // 4)

    initializers = []
    for name, shape, offset in tensors:
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in [("location", "large_moe.bin"), ("offset", str(offset)),
                           ("length", str(4 * int(np.prod(shape))))]:
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        initializers.append(tensor)
    node = helper.make_node("MoE", ["input", "router_probs"] + [n for n, _ in TENSORS],
                            ["output"], name="large/MoE", domain="com.microsoft", k=K,
                            activation_type="relu", normalize_routing_weights=1)
    graph = helper.make_graph(
        [node], "large_moe",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["tokens", HIDDEN]),
         helper.make_tensor_value_info("router_probs", TensorProto.FLOAT,
                                       ["tokens", EXPERTS])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["tokens", HIDDEN])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, os.path.join(out_dir, "large_moe.onnx"))

    rng = np.random.default_rng(11)
    np.save(os.path.join(out_dir, "x.npy"), rng.standard_normal((TOKENS, HIDDEN), np.float32))
    np.save(os.path.join(out_dir, "router.npy"),
            rng.standard_normal((TOKENS, EXPERTS), np.float32))
    return total


def compile_measured(model, output):
    """Compiles `model` to `output` with moec; returns moec's own peak resident bytes (its
    rusage from wait4, whatever other children this script ran before)."""
    process = subprocess.Popen(["moec", model, "-o", output])
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, process.args)
    return usage.ru_maxrss * 1024


def report_peak(peak, weights, bound_mib):
    """Prints moec's peak beside the bound; False when over it."""
    under = peak <= bound_mib << 20
    print(f"moec peak resident memory: {peak >> 20} MiB, {peak / weights:.3f} of the weights: "
          f"{'within' if under else 'OVER'} the bound of {bound_mib} MiB", flush=True)
    return under


def check(out_dir, output):
    tensors, _ = layout()
    data = np.memmap(os.path.join(out_dir, "large_moe.bin"), np.float32, "r")
    weights = {name: data[offset // 4:offset // 4 + int(np.prod(shape))].reshape(shape)
               for name, shape, offset in tensors}
    x = np.load(os.path.join(out_dir, "x.npy")).astype(np.float64)
    logits = np.load(os.path.join(out_dir, "router.npy")).astype(np.float64)
    expected = np.zeros_like(x)
    for t in range(TOKENS):
        probs = np.exp(logits[t] - logits[t].max())
        probs /= probs.sum()
        chosen = np.argsort(-probs, kind="stable")[:K]
        for e in chosen:
            h = np.maximum(x[t] @ weights["fc1_experts_weights"][e]
                           + weights["fc1_experts_bias"][e], 0)
            y = h @ weights["fc2_experts_weights"][e] + weights["fc2_experts_bias"][e]
            expected[t] += probs[e] / probs[chosen].sum() * y
    actual = np.load(output)
    assert actual.shape == expected.shape and actual.dtype == np.float32, (actual.shape,
                                                                           actual.dtype)
    return np.abs(actual - expected).max() / np.abs(expected).max()


def main(out_dir, bound_mib):
    os.makedirs(out_dir)
    try:
        weights = make(out_dir)
        print(f"weights: {weights} bytes", flush=True)
        peak = compile_measured(os.path.join(out_dir, "large_moe.onnx"),
                                os.path.join(out_dir, "prog"))
        if not report_peak(peak, weights, bound_mib):
            return 1
        subprocess.run([os.path.join(out_dir, "prog"), "--input",
                        "input=" + os.path.join(out_dir, "x.npy"), "--input",
                        "router_probs=" + os.path.join(out_dir, "router.npy"), "--output-dir",
                        os.path.join(out_dir, "out")], check=True)
        error = check(out_dir, os.path.join(out_dir, "out", "output.npy"))
        print(f"max error relative to the largest output: {error:.1e}: "
              f"{'ok' if error < 1e-5 else 'MISMATCH'}")
    finally:
        shutil.rmtree(out_dir)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--max-peak-mib", type=int, required=True)
    args = parser.parse_args()
    sys.exit(main(args.dir, args.max_peak_mib))
