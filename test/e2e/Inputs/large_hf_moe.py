"""Compiles and runs a Hugging Face style MoE layer (Mixtral's loop over experts, f32) whose
per-expert weights (1.1 GiB) lie in external data, for large-hf-model.test.

    large_hf_moe.py DIR --max-peak-mib M

Raising stacks the per-expert Linear weights into moe.layer's [E, K, N] constants (gate and
up side by side): new weights, which moec builds in a temporary file, not on its heap. The
graph is benchmarks/gpu/make_layer.py's (torch's export of scripts/make_moe_models.py's
module at a small size, grown to HIDDEN and FFN) with large_moe.py's aperiodic pattern as
weights. The script compiles it with the `moec` on PATH while measuring moec's peak resident
memory (its own, not the torch export's), which must stay under M MiB (docs/moec.md claims
about 210; the test allows twice that), prints the stacked constants moec wrote
(from the weights manifest, so a layer that was not raised shows), runs the program on three
tokens and compares with onnxruntime. DIR is removed at the end, whatever happens.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "benchmarks", "gpu"))
import large_moe  # noqa: E402
import make_layer  # noqa: E402

SIZES = dict(hidden=2048, ffn=6144, experts=8, k=2, n_group=None, topk_group=None)
TOKENS = 3
ALIGNMENT = 4096


def make(out_dir):
    """Writes mixtral.onnx and its weights, mixtral.bin; returns the weights' bytes."""
    with tempfile.TemporaryDirectory() as directory:
        model = make_layer.export_template("mixtral", SIZES, directory)
    make_layer.convert(model.graph, make_layer.growth(SIZES), bf16=False)
    offset = weights = 0
    for tensor in model.graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        dims = [make_layer.grow(d, make_layer.growth(SIZES)) for d in tensor.dims]
        length = 4 * int(np.prod(dims))
        external = TensorProto(name=tensor.name, data_type=TensorProto.FLOAT, dims=dims)
        external.data_location = TensorProto.EXTERNAL
        for key, value in (("location", "mixtral.bin"), ("offset", offset), ("length", length)):
            entry = external.external_data.add()
            entry.key, entry.value = key, str(value)
        tensor.CopyFrom(external)
        weights += length
        offset = (offset + length + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
    large_moe.write_pattern(os.path.join(out_dir, "mixtral.bin"), offset // 4)
    onnx.save(model, os.path.join(out_dir, "mixtral.onnx"))
    return weights


def main(out_dir, bound_mib):
    os.makedirs(out_dir)
    try:
        weights = make(out_dir)
        print(f"weights: {weights} bytes", flush=True)
        model, program = os.path.join(out_dir, "mixtral.onnx"), os.path.join(out_dir, "prog")
        peak = large_moe.compile_measured(model, program)
        if not large_moe.report_peak(peak, weights, bound_mib):
            return 1
        with open(program + ".weights.json") as manifest:
            for weight in json.load(manifest)["weights"]:
                if "/moe." in weight["name"]:
                    print(f"stacked: {weight['name'].split('/moe.')[1]} {weight['shape']}")

        session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        (tokens_input,) = session.get_inputs()
        shape = [TOKENS if not isinstance(d, int) else d for d in tokens_input.shape]
        shape[0] = TOKENS  # [T, H] or [B, S, H]: three tokens in either
        x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
        x_path = os.path.join(out_dir, "x.npy")
        np.save(x_path, x)
        (expected,) = session.run(None, {tokens_input.name: x})
        del session
        subprocess.run([program, "--input", f"{tokens_input.name}={x_path}", "--output-dir",
                        os.path.join(out_dir, "out")], check=True)
        (output,) = os.listdir(os.path.join(out_dir, "out"))
        actual = np.load(os.path.join(out_dir, "out", output))
        assert actual.shape == expected.shape, (actual.shape, expected.shape)
        error = np.abs(actual - expected).max() / np.abs(expected).max()
        print(f"max error relative to the largest output: {error:.1e}: "
              f"{'ok' if error < 1e-4 else 'MISMATCH'}")
    finally:
        shutil.rmtree(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[sys.argv.index("--max-peak-mib") + 1])))
