#!/usr/bin/env python3
"""Shows that moec raised a dense-masked MoE export exactly, before any backend runs it.

    check_dense_moe_raise.py MODEL.onnx REFERENCE.npz [--moec PATH] [--tolerance T]

Runs `moec MODEL --stop-after=raise --emit=mlir` with every weight printed, reads the one
moe.layer it holds, its attributes and its constant operands (the dense resources the pass
wrote: transposed router, gate-first up stacks, [E, N] biases), evaluates moe.layer's
semantics on them with numpy (check_ort_moe_raise.moe_layer) for the input in REFERENCE.npz
(`x`, [batch, seq, hidden]) and compares with its `y` (what PyTorch computed). Prints the
largest difference; exits 1 above the tolerance (relative to the output's largest value).
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np

from check_ort_moe_raise import moe_layer

SCRIPTS = os.path.dirname(os.path.abspath(__file__))
FLOAT_PARAMETER = r"{} = ([-+0-9.e]+)"


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
    flag = lambda text, name: f"{name} = true" in text
    parameter = lambda text, name, default: float(
        (re.findall(FLOAT_PARAMETER.format(name), text) or [default])[0])
    return {
        "router": constants[operands["router"]],
        "router_bias": constants.get(operands.get("router_bias")),
        "up_weight": constants[up], "down_weight": constants[down],
        "up_bias": constants.get(operands.get("up_bias")),
        "down_bias": constants.get(operands.get("down_bias")),
        "k": int(re.search(r"k = (\d+)", routing).group(1)),
        "renormalize": flag(routing, "renormalize"),
        "topk_first": flag(routing, "topk_first"),
        "scoring": re.search(r"scoring = (\w+)", routing).group(1),
        "activation": re.search(r"activation = (\w+)", expert).group(1),
        "gated": flag(expert, "gated"),
        "alpha": parameter(expert, "alpha", 1.702), "limit": parameter(expert, "limit", 7.0),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("reference")
    parser.add_argument("--moec", default=os.path.join(SCRIPTS, "..", "build", "bin", "moec"))
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()
    layer = raised_layer(args.moec, args.model)
    if layer["scoring"] != "softmax":
        print(f"scoring {layer['scoring']} is not evaluated here")
        return 1
    reference = np.load(args.reference)
    tokens = reference["x"].reshape(-1, layer["router"].shape[1])
    logits = tokens @ layer["router"].T
    if layer["router_bias"] is not None:
        logits = logits + layer["router_bias"]
    got = moe_layer(tokens, logits, layer)
    want = reference["y"].reshape(got.shape)
    error = float(np.abs(got - want).max() / np.abs(want).max())
    ok = error <= args.tolerance
    print(f"{os.path.basename(args.model)}: moe.layer {layer['activation']} k={layer['k']}, "
          f"{tokens.shape[0]} tokens: max relative difference from the reference "
          f"{error:.2g} {'ok' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
