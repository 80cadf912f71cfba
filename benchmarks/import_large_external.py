"""Measures moec's peak memory when importing a model with 2 GB of external weights.

Writes, in a temporary folder, an MoE-shaped model (a stack of expert MatMuls) whose
weights, 2.25 GB of float32, lie in one external data file, then runs
`moec --stop-after=import --emit=mlir -o /dev/null` under /usr/bin/time -v and prints the
maximum resident set size. The weights are memory-mapped, not read, so the figure stays
far below the weights' size. Not part of the test suite (it writes 2 GB to disk).

Usage: .venv/bin/python benchmarks/import_large_external.py [--moec build/bin/moec]
"""
import argparse
import os
import re
import subprocess
import tempfile

import numpy as np
from onnx import TensorProto, helper

EXPERTS = 18
ROWS, COLS = 4096, 8192  # 128 MiB of float32 per expert


def write_model(folder):
    weights_path = os.path.join(folder, "weights.bin")
    rng = np.random.default_rng(0)
    block = rng.standard_normal((ROWS, COLS), dtype=np.float32).tobytes()
    initializers, nodes, outputs = [], [], []
    with open(weights_path, "wb") as f:
        for e in range(EXPERTS):
            offset = f.tell()
            f.write(block)
            w = TensorProto(name=f"expert{e}.weight", data_type=TensorProto.FLOAT,
                            dims=[ROWS, COLS], data_location=TensorProto.EXTERNAL)
            for key, value in (("location", "weights.bin"), ("offset", str(offset)),
                               ("length", str(len(block)))):
                entry = w.external_data.add()
                entry.key, entry.value = key, value
            initializers.append(w)
            nodes.append(helper.make_node("MatMul", ["x", w.name], [f"y{e}"], name=f"expert{e}"))
            outputs.append(helper.make_tensor_value_info(f"y{e}", TensorProto.FLOAT,
                                                         ["tokens", COLS]))
    graph = helper.make_graph(
        nodes, "experts",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["tokens", ROWS])],
        outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    model_path = os.path.join(folder, "model.onnx")
    with open(model_path, "wb") as f:
        f.write(model.SerializeToString())
    return model_path, os.path.getsize(weights_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moec", default=os.path.join(
        os.path.dirname(__file__), "..", "build", "bin", "moec"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model_path, weight_bytes = write_model(folder)
        result = subprocess.run(
            ["/usr/bin/time", "-v", args.moec, model_path, "--stop-after=import",
             "--emit=mlir", "-o", "/dev/null"], capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"moec failed:\n{result.stderr}")
        rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                               result.stderr).group(1))
        wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", result.stderr).group(1)
    print(f"external weights: {weight_bytes / 2**30:.2f} GiB in {EXPERTS} tensors")
    print(f"moec --stop-after=import: max RSS {rss_kb / 1024:.1f} MiB, wall {wall}")


if __name__ == "__main__":
    main()
