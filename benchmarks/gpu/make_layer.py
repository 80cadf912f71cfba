#!/usr/bin/env python3
"""Writes a bf16 Hugging Face style MoE layer as ONNX whose weights are placeholders.

    make_layer.py {mixtral,deepseek_v3} OUT.onnx [--hidden H --ffn F --experts E --k K
                  --n-group G --topk-group TG]   (defaults: the real model's layer)

The graph is what torch's exporter writes for scripts/make_moe_models.py's module (the
Mixtral loop over experts, or DeepseekV3MoE with its shared expert): exported there with
Debian's torch (TORCH_PYTHON, default /usr/bin/python3) at a small hidden and ffn size,
then grown here to the sizes asked for and turned into bf16 (every float tensor, input,
output and constant). The weights are external data in OUT.data, a sparse file of zeros:
writing a 22 GB layer takes no time and no disk, and moec compiles it into a program whose
weights file is sparse too. benchmarks/gpu/bench_layer.py writes real values into that
file after compiling (benchmarks/README.md, "GPU MoE layers").
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAYERS = {
    "mixtral": dict(hidden=4096, ffn=14336, experts=8, k=2, n_group=None, topk_group=None),
    "deepseek_v3": dict(hidden=7168, ffn=2048, experts=256, k=8, n_group=8, topk_group=4),
}
EXTERNAL_ALIGNMENT = 4096


def template_sizes(experts):
    """The hidden and ffn sizes the template is exported at: values that no other constant
    of the graph holds (expert counts and indices, k, group sizes, axes), so that growing
    them is a replacement of values. Above every expert index: with 24 and 40 for all, a
    256-expert layer's Gather of expert 40's mask became one of expert 2048's, and the
    layer was not raised."""
    return experts + 16, experts + 32


def growth(sizes):
    """What growing the template to `sizes` replaces: template value -> real value."""
    hidden, ffn = template_sizes(sizes["experts"])
    return {hidden: sizes["hidden"], ffn: sizes["ffn"]}


def export_template(model, sizes, directory):
    hidden, ffn = template_sizes(sizes["experts"])
    command = [os.environ.get("TORCH_PYTHON", "/usr/bin/python3"),
               os.path.join(REPO, "scripts", "make_moe_models.py"), directory, "--only", model,
               "--hidden", str(hidden), "--ffn", str(ffn),
               "--experts", str(sizes["experts"]), "--k", str(sizes["k"]), "--no-samples"]
    if sizes["n_group"]:
        command += ["--n-group", str(sizes["n_group"]), "--topk-group", str(sizes["topk_group"])]
    subprocess.run(command, check=True)
    return onnx.load(os.path.join(directory, model + ".onnx"))


def grow(value, grown):
    return grown.get(value, value)


def to_bf16(tensor):
    """The tensor as bf16, for the small constants of the graph, rounded to nearest (ties
    to even) as torch's exporter rounds: DeepSeek's renormalizing epsilon 1e-20 becomes
    1.0007e-20, which moec-raise-hf-moe still takes as negligible (docs/raising.md)."""
    values = numpy_helper.to_array(tensor).astype(np.float32)
    words = values.view(np.uint32).astype(np.uint64)
    bits = ((words + np.uint64(0x7FFF) + ((words >> np.uint64(16)) & np.uint64(1)))
            >> np.uint64(16)).astype(np.uint16)
    result = TensorProto(name=tensor.name, data_type=TensorProto.BFLOAT16, dims=values.shape)
    result.raw_data = bits.tobytes()
    return result


def convert(graph, grown, bf16=True):
    """Grows the template's sizes as `grown` (growth()) says and makes every float bf16
    (unless `bf16` is false: test/e2e/large-hf-model.test keeps f32)."""
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        tensor_type = value.type.tensor_type
        if bf16 and tensor_type.elem_type == TensorProto.FLOAT:
            tensor_type.elem_type = TensorProto.BFLOAT16
        for dim in tensor_type.shape.dim:
            if dim.HasField("dim_value"):
                dim.dim_value = grow(dim.dim_value, grown)
    for node in graph.node:
        for attribute in node.attribute:
            if (bf16 and node.op_type == "Cast" and attribute.name == "to"
                    and attribute.i == TensorProto.FLOAT):
                attribute.i = TensorProto.BFLOAT16
            if attribute.name != "value":
                continue
            if bf16 and attribute.t.data_type == TensorProto.FLOAT:
                attribute.t.CopyFrom(to_bf16(attribute.t))
            elif attribute.t.data_type == TensorProto.INT64:
                values = numpy_helper.to_array(attribute.t)
                grown_values = np.vectorize(lambda v: grow(int(v), grown), otypes=[np.int64])(values)
                attribute.t.CopyFrom(numpy_helper.from_array(grown_values.reshape(values.shape),
                                                             attribute.t.name))


# Tensors smaller than this get small positive values instead of zeros: moec embeds an
# all-zero small tensor as a splat, which the weights file would not hold, and a score bias
# must be non-negative to be raised.
SMALL_ELEMENTS = 1 << 20


def placeholder_weights(graph, grown, data_path):
    """Every initializer as bf16 external data in a sparse file, zeros but for small ones."""
    offset = 0
    small = {}
    location = os.path.basename(data_path)
    for tensor in graph.initializer:
        if tensor.data_type != TensorProto.FLOAT:
            continue
        dims = [grow(d, grown) for d in tensor.dims]
        length = int(np.prod(dims)) * 2
        placeholder = TensorProto(name=tensor.name, data_type=TensorProto.BFLOAT16, dims=dims)
        placeholder.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", offset), ("length", length)):
            entry = placeholder.external_data.add()
            entry.key, entry.value = key, str(value)
        tensor.CopyFrom(placeholder)
        if length // 2 < SMALL_ELEMENTS:
            values = np.abs(np.random.default_rng(len(small)).standard_normal(length // 2)) * 0.05
            small[offset] = (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        offset = (offset + length + EXTERNAL_ALIGNMENT - 1) // EXTERNAL_ALIGNMENT * EXTERNAL_ALIGNMENT
    with open(data_path, "wb") as data:
        data.truncate(offset)
        for start, values in small.items():
            data.seek(start)
            data.write(values.tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=sorted(LAYERS))
    parser.add_argument("output")
    for name in ("hidden", "ffn", "experts", "k", "n_group", "topk_group"):
        parser.add_argument("--" + name.replace("_", "-"), type=int)
    args = parser.parse_args()
    sizes = {name: getattr(args, name) or default for name, default in LAYERS[args.model].items()}
    with tempfile.TemporaryDirectory() as directory:
        model = export_template(args.model, sizes, directory)
    convert(model.graph, growth(sizes))
    placeholder_weights(model.graph, growth(sizes),
                        os.path.splitext(args.output)[0] + ".data")
    onnx.save(model, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
