"""onnxruntime's and numpy's f32 matmul on the shape sgemm-bench uses, for comparison.

Usage: .venv/bin/python benchmarks/sgemm_ort.py [THREADS [M N K [REPEATS]]]
"""
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
M, N, K = (int(a) for a in sys.argv[2:5]) if len(sys.argv) > 4 else (256, 2816, 1024)
repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 20

graph = helper.make_graph(
    [helper.make_node("MatMul", ["a", "b"], ["c"])], "g",
    [helper.make_tensor_value_info("a", TensorProto.FLOAT, [M, K]),
     helper.make_tensor_value_info("b", TensorProto.FLOAT, [K, N])],
    [helper.make_tensor_value_info("c", TensorProto.FLOAT, [M, N])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
options = ort.SessionOptions()
options.intra_op_num_threads = threads
session = ort.InferenceSession(model.SerializeToString(), options,
                               providers=["CPUExecutionProvider"])
rng = np.random.default_rng(42)
a = rng.uniform(-1, 1, (M, K)).astype(np.float32)
b = rng.uniform(-1, 1, (K, N)).astype(np.float32)


def best_seconds(run):
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


flops = 2.0 * M * N * K
ort_s = best_seconds(lambda: session.run(None, {"a": a, "b": b}))
print(f"onnxruntime {M}x{N}x{K} threads={threads}: {flops / ort_s / 1e9:.1f} GFLOP/s")
np_s = best_seconds(lambda: a @ b)
print(f"numpy       {M}x{N}x{K} (its own threads): {flops / np_s / 1e9:.1f} GFLOP/s")
