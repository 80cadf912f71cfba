#!/usr/bin/env python3
"""Writes a copy of an ONNX model with named (symbolic) dimensions fixed to sizes.

    set_onnx_dims.py MODEL OUT NAME=SIZE [NAME=SIZE ...]

Every input, output and value_info dimension called NAME becomes SIZE, so that moec
compiles the model for those sizes (e.g. `batch=1 seq=1` for a decode step: kernels are
chosen from static shapes at compile time). Fails when a NAME appears nowhere.
"""
import sys

import onnx


def main():
    model_path, out_path, assignments = sys.argv[1], sys.argv[2], sys.argv[3:]
    sizes = {}
    for assignment in assignments:
        name, _, size = assignment.partition("=")
        sizes[name] = int(size)
    model = onnx.load(model_path)
    found = set()
    graph = model.graph
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") and dim.dim_param in sizes:
                found.add(dim.dim_param)
                dim.dim_value = sizes[dim.dim_param]
    missing = sorted(set(sizes) - found)
    if missing:
        sys.exit(f"{model_path}: no dimension called {', '.join(missing)}")
    onnx.save(model, out_path)


if __name__ == "__main__":
    main()
