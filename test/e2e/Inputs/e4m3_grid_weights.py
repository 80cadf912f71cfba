#!/usr/bin/env python3
"""Writes MODEL.onnx with its expert weights replaced by e4m3's values, each exactly.

    e4m3_grid_weights.py MODEL.onnx OUT.onnx --experts REGEX --block B

The expert weights are the initializers that MatMul nodes whose name matches REGEX take as
their [K, N] weights (K and N multiples of B). Each becomes every finite e4m3 value
(subnormals, both zeros, +-448), cycled through its elements, times 2^-8, with one element
of every B x B block set to 448 * 2^-8: the block's absmax, so that fp8 quantization with
B x B blocks has the scale 2^-8 everywhere and gives every byte but NaN's exactly, and a
program that dequantizes them wrongly anywhere differs from numpy's fp8 outputs.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e4m3  # noqa: E402
from quantized_vs_numpy import expert_weight_names  # noqa: E402

SCALE = np.float32(2.0 ** -8)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--experts", required=True, metavar="REGEX")
    parser.add_argument("--block", type=int, required=True)
    args = parser.parse_args()
    finite = np.array([code for code in range(256) if code & 0x7F != e4m3.NAN], np.uint8)
    values = e4m3.decode(finite).astype(np.float32) * SCALE
    model = onnx.load(args.model)
    names = expert_weight_names(model, args.experts)
    replaced = 0
    for init in model.graph.initializer:
        if init.name not in names or len(init.dims) != 2:
            continue
        rows, columns = init.dims
        # A shift per weight, so that each holds the values in other places.
        grid = np.resize(np.roll(values, replaced * 37), rows * columns).reshape(rows, columns)
        grid[::args.block, ::args.block] = 448 * SCALE
        init.CopyFrom(numpy_helper.from_array(grid.astype(np.float32), init.name))
        replaced += 1
    if not replaced:
        print(f"no MatMul whose name matches {args.experts!r} takes an initializer")
        return 1
    onnx.save(model, args.out)
    print(f"{replaced} expert weights of every finite e4m3 value")
    return 0


if __name__ == "__main__":
    sys.exit(main())
