"""A GroupQueryAttention with a window-sized KV cache (sliding_window_cache 1), run step by
step with each step's present caches fed back as the past ones, in moec against the outputs
that onnxruntime (1.26 or newer; CI's is older) wrote once.

    windowed_kv_cache.py write DIR      # the model and onnxruntime's steps (needs onnxruntime)
    windowed_kv_cache.py check DIR PROG # moec's executable against them

The cache holds 6 rows for a window of 4, so eviction drops 6 - 4 + 1 = 3 positions at a
time (docs/importer.md); the steps take a row from 3 tokens to 13, one at a time and three
at once, past the capacity. What onnxruntime leaves unspecified is not compared: the cache
rows at and past L(T), the number of positions the window keeps. Prints one line per output
per step, `STEP NAME: max abs diff D ok|FAIL`, and exits 1 on any difference beyond 1e-5.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HEADS, KV_HEADS, HEAD, CAPACITY, WINDOW = 2, 1, 8, 6, 4
STEPS = [3, 1, 1, 3, 1, 1, 1, 2]


def resident(tokens):
    """L(T): how many of T positions a cache of CAPACITY rows keeps for WINDOW."""
    evict = CAPACITY - WINDOW + 1
    if tokens <= CAPACITY:
        return tokens
    return tokens - evict * -(-(tokens - CAPACITY) // evict)


def write(out):
    import onnx
    import onnxruntime
    from onnx import TensorProto, helper

    hidden = (HEADS + 2 * KV_HEADS) * HEAD
    node = helper.make_node(
        "GroupQueryAttention", ["qkv", "", "", "past_key", "past_value", "seqlens_k", "total"],
        ["y", "present_key", "present_value"], domain="com.microsoft", name="gqa",
        num_heads=HEADS, kv_num_heads=KV_HEADS, local_window_size=WINDOW, sliding_window_cache=1)
    cache = ["batch", KV_HEADS, CAPACITY, HEAD]
    graph = helper.make_graph(
        [node], "windowed_kv_cache",
        [helper.make_tensor_value_info("qkv", TensorProto.FLOAT, ["batch", "seq", hidden]),
         helper.make_tensor_value_info("past_key", TensorProto.FLOAT, cache),
         helper.make_tensor_value_info("past_value", TensorProto.FLOAT, cache),
         helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch"]),
         helper.make_tensor_value_info("total", TensorProto.INT32, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "seq", HEADS * HEAD]),
         helper.make_tensor_value_info("present_key", TensorProto.FLOAT, cache),
         helper.make_tensor_value_info("present_value", TensorProto.FLOAT, cache)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22),
                                                    helper.make_opsetid("com.microsoft", 1)])
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    session = onnxruntime.InferenceSession(os.path.join(out, "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    past = np.zeros((1, KV_HEADS, CAPACITY, HEAD), np.float32)
    feeds = {"past_key": past, "past_value": past}
    tokens = 0
    for step, length in enumerate(STEPS):
        tokens += length
        feeds = {"qkv": rng.standard_normal((1, length, hidden)).astype(np.float32),
                 "past_key": feeds["past_key"], "past_value": feeds["past_value"],
                 "seqlens_k": np.array([tokens - 1], np.int32),
                 "total": np.array(tokens, np.int32)}
        y, key, value = session.run(None, feeds)
        np.savez(os.path.join(out, f"step{step}.npz"), **feeds, y=y, present_key=key,
                 present_value=value)
        feeds = {"past_key": key, "past_value": value}


def run(prog, feeds):
    with tempfile.TemporaryDirectory() as tmp:
        args = [prog]
        for name, value in feeds.items():
            np.save(os.path.join(tmp, name + ".npy"), value)
            args += ["--input", f"{name}={os.path.join(tmp, name + '.npy')}"]
        subprocess.run(args + ["--output-dir", os.path.join(tmp, "out")], check=True)
        return {name: np.load(os.path.join(tmp, "out", name + ".npy"))
                for name in ("y", "present_key", "present_value")}


def check(data, prog):
    failed = False
    for step in range(len(STEPS)):
        saved = np.load(os.path.join(data, f"step{step}.npz"))
        feeds = {n: saved[n] for n in ("qkv", "past_key", "past_value", "seqlens_k", "total")}
        got = run(prog, feeds)
        kept = resident(int(saved["total"]))
        for name, value in got.items():
            want = saved[name]
            if name != "y":
                want, value = want[:, :, :kept], value[:, :, :kept]
            diff = float(np.abs(want - value).max())
            ok = want.shape == value.shape and diff <= 1e-5
            failed |= not ok
            print(f"{step} {name}: max abs diff {diff:.3g} {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1] == "write":
        sys.exit(write(sys.argv[2]))
    sys.exit(check(sys.argv[2], sys.argv[3]))
