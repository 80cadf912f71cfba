#!/usr/bin/env python3
"""Shows that moec raised a dense-masked MoE export exactly, before any backend runs it.

    check_dense_moe_raise.py MODEL.onnx REFERENCE.npz [--moec PATH] [--tolerance T]

Runs `moec MODEL --stop-after=raise --emit=mlir` with every weight printed, reads the one
moe.layer it holds, its attributes and its constant operands (the dense resources the pass
wrote: transposed router, gate-first up stacks, [E, N] biases), evaluates moe.layer's
semantics on them with numpy (moe_reference.moe_layer) for the input in REFERENCE.npz
(`x`, [batch, seq, hidden]) and compares with its `y` (what PyTorch computed). Prints the
largest difference; exits 1 above the tolerance (relative to the output's largest value).
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

from moe_reference import moe_layer

SCRIPTS = os.path.dirname(os.path.abspath(__file__))


def parse_parameters(text):
    """The parameters of a printed #moe.routing or #moe.expert, as Python values."""
    parameters = {}
    for name, value in re.findall(r"(\w+) = ([-+\w.]+)", text):
        if value in ("true", "false"):
            parameters[name] = value == "true"
        elif re.fullmatch(r"-?[0-9]+", value):
            parameters[name] = int(value)
        elif re.fullmatch(r"[a-z_]+", value):
            parameters[name] = value
        else:
            parameters[name] = float(value)
    return parameters


def raised_layer(moec, model):
    """moe.layer's operands and attributes as numpy arrays and Python values."""
    ir = subprocess.run([moec, model, "--stop-after=raise", "--emit=mlir",
                         "--elide-resources-over=0", "-o", "-"],
                        check=True, capture_output=True, text=True).stdout
    blobs = dict(re.findall(r'^ +"?([^"\s]+?)"?: "0x([0-9A-F]+)"', ir, re.M))
    constants = {}
    for value, blob, shape in re.findall(
            r'(%\d+) = onnx.constant "[^"]+" dense_resource<"?([^">]+)"?> : tensor<([0-9x]+)xf32>',
            ir):
        # A blob is its alignment (4 bytes) and then the data.
        data = np.frombuffer(bytes.fromhex(blobs[blob])[4:], np.float32)
        constants[value] = data.reshape([int(d) for d in shape.split("x")])
    (match,) = re.findall(r"moe.layer %\w+, (%\d+), (%\d+)(.*?) routing <(.*?)> expert <(.*?)>",
                          ir)
    up, down, keyword_operands, routing, expert = match
    operands = dict(re.findall(r"(\w+)\((%\d+) :", keyword_operands))
    routing, expert = parse_parameters(routing), parse_parameters(expert)
    operands = {name: constants[value] for name, value in operands.items()}
    return constants[up], constants[down], operands, routing, expert


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("reference")
    parser.add_argument("--moec", default=os.path.join(SCRIPTS, "..", "build", "bin", "moec"))
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    up, down, operands, routing, expert = raised_layer(args.moec, args.model)
    reference = np.load(args.reference)
    router = operands.pop("router")
    tokens = reference["x"].reshape(-1, router.shape[1])
    got = moe_layer(tokens, router, up, down, routing, expert, **operands)
    want = reference["y"].reshape(got.shape)
    error = float(np.abs(got - want).max() / np.abs(want).max())
    ok = error <= args.tolerance
    print(f"{os.path.basename(args.model)}: moe.layer {expert['activation']} k={routing['k']}, "
          f"{tokens.shape[0]} tokens: max relative difference from the reference "
          f"{error:.2g} {'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
