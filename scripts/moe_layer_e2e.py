#!/usr/bin/env python3
"""End-to-end check of one moe.layer: writes it as MLIR with constant weights, then runs
the executable moec made from it and compares with scripts/moe_reference.py.

    moe_layer_e2e.py make OUT.mlir WEIGHTS.npz --hidden H --experts E --inner I
        --routing "scoring = softmax, k = 2, renormalize = true"
        --expert "activation = silu, gated = true"
        [--with router_bias,score_bias,up_bias,down_bias,shared,shared_gate]
        [--shared-inner IS] [--seed S]
    moe_layer_e2e.py check WEIGHTS.npz PROG --tokens T [--tokens T ...] [--rtol R]

`make` writes `@main(tensor<?xHxf32>) -> tensor<?xHxf32>` around one moe.layer whose
weights are dense constants, and the same weights (and attributes) into WEIGHTS.npz.
`check` runs PROG on random tokens for every T and prints, per T, the largest difference
relative to the largest reference value; it exits 1 if that exceeds --rtol.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moe_reference import moe_layer  # noqa: E402

OPERAND_ORDER = ["router_bias", "score_bias", "up_bias", "down_bias", "shared", "shared_gate"]


def parse_params(text):
    """`a = 1, b = true, c = silu` -> {"a": 1, "b": True, "c": "silu"}."""
    params = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, value = (s.strip() for s in item.split("="))
        if value in ("true", "false"):
            params[key] = value == "true"
        else:
            try:
                params[key] = int(value)
            except ValueError:
                try:
                    params[key] = float(value)
                except ValueError:
                    params[key] = value
    return params


def make_weights(args, rng):
    routing = parse_params(args.routing)
    expert = parse_params(args.expert)
    gated = expert.get("gated", False) or expert["activation"] in ("swiglu_clamped",
                                                                    "silu_clamped")
    h, e, i = args.hidden, args.experts, args.inner
    columns = 2 * i if gated else i
    normal = lambda shape, scale: (rng.standard_normal(shape) * scale).astype(np.float32)
    w = {"router_weight": normal((e, h), 1.0),
         "up_weight": normal((e, h, columns), h ** -0.5),
         "down_weight": normal((e, i, h), i ** -0.5)}
    extra = set(filter(None, args.with_.split(",")))
    unknown = extra - set(OPERAND_ORDER)
    if unknown:
        sys.exit(f"error: unknown operands {sorted(unknown)}")
    if "router_bias" in extra:
        w["router_bias"] = normal((e,), 0.5)
    if "score_bias" in extra:
        w["score_bias"] = normal((e,), 0.1)
    if "up_bias" in extra:
        w["up_bias"] = normal((e, columns), 0.1)
    if "down_bias" in extra:
        w["down_bias"] = normal((e, h), 0.1)
    if "shared" in extra or "shared_gate" in extra:
        si = args.shared_inner or i
        w["shared_up"] = normal((h, 2 * si if gated else si), h ** -0.5)
        w["shared_down"] = normal((si, h), si ** -0.5)
    if "shared_gate" in extra:
        w["shared_gate"] = normal((h, 1), h ** -0.5)
    return w, routing, expert


def tensor_type(array):
    return "tensor<" + "x".join(str(d) for d in array.shape) + "xf32>"


def constant(name, array):
    data = np.ascontiguousarray(array, dtype="<f4").tobytes().hex().upper()
    return f'  %{name} = arith.constant dense<"0x{data}"> : {tensor_type(array)}\n'


def write_mlir(path, weights, routing_text, expert_text, hidden):
    dyn = f"tensor<?x{hidden}xf32>"
    body = "".join(constant(name, array) for name, array in weights.items())
    layer = ("  %y = moe.layer %tokens, %up_weight, %down_weight"
             f" router(%router_weight : {tensor_type(weights['router_weight'])})")
    for name in ["router_bias", "score_bias", "up_bias", "down_bias"]:
        if name in weights:
            layer += f" {name}(%{name} : {tensor_type(weights[name])})"
    if "shared_up" in weights:
        layer += (f" shared(%shared_up, %shared_down : {tensor_type(weights['shared_up'])}, "
                  f"{tensor_type(weights['shared_down'])})")
    if "shared_gate" in weights:
        layer += f" shared_gate(%shared_gate : {tensor_type(weights['shared_gate'])})"
    layer += (f" routing <{routing_text}> expert <{expert_text}>"
              f" : ({dyn}, {tensor_type(weights['up_weight'])}, {tensor_type(weights['down_weight'])})"
              f" -> {dyn}\n")
    with open(path, "w") as f:
        f.write(f"func.func @main(%tokens: {dyn}) -> {dyn} {{\n{body}{layer}"
                f"  return %y : {dyn}\n}}\n")


def make(args):
    rng = np.random.default_rng(args.seed)
    weights, _, _ = make_weights(args, rng)
    write_mlir(args.mlir, weights, args.routing, args.expert, args.hidden)
    np.savez(args.weights, routing=args.routing, expert=args.expert, **weights)


def check(args):
    saved = np.load(args.weights)
    routing = parse_params(str(saved["routing"]))
    expert = parse_params(str(saved["expert"]))
    weights = {name: saved[name] for name in saved.files if name not in ("routing", "expert")}
    rng = np.random.default_rng(args.seed)
    hidden = weights["router_weight"].shape[1]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for tokens in args.tokens:
            x = rng.standard_normal((tokens, hidden)).astype(np.float32)
            np.save(os.path.join(tmp, "tokens.npy"), x)
            subprocess.run([args.prog, "--input", os.path.join(tmp, "tokens.npy"),
                            "--output-dir", tmp, "--threads", str(args.threads)], check=True)
            got = np.load(os.path.join(tmp, "output_0.npy"))
            expected = moe_layer(x, routing=routing, expert=expert, **weights)
            error = np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-30)
            ok = got.shape == expected.shape and error <= args.rtol
            failed |= not ok
            print(f"tokens={tokens}: shape {list(got.shape)}, max relative error "
                  f"{error:.2e} {'ok' if ok else 'FAILED'}")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("mlir")
    m.add_argument("weights")
    m.add_argument("--hidden", type=int, required=True)
    m.add_argument("--experts", type=int, required=True)
    m.add_argument("--inner", type=int, required=True)
    m.add_argument("--shared-inner", type=int, default=0)
    m.add_argument("--routing", required=True)
    m.add_argument("--expert", required=True)
    m.add_argument("--with", dest="with_", default="")
    m.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("weights")
    c.add_argument("prog")
    c.add_argument("--tokens", type=int, action="append", required=True)
    c.add_argument("--rtol", type=float, default=1e-4)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.command == "make":
        make(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
