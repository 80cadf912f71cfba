#!/usr/bin/env python3
"""Checks a program of test/e2e/Inputs/moe-kernels*.mlir against numpy, op by op.

    moe_kernels_reference.py PROG --kernels f32 --routing "scoring = softmax, k = 3"
        [--score-bias] --rows T [--rows T ...] [--int-range LO HI] [--seed S]
    moe_kernels_reference.py PROG --kernels bf16 --rows T [--rows T ...]

compare_programs.py shows that two lowerings of the kernel-level moe ops agree; this shows
that they are right. Inputs are drawn as compare_programs.py draws them (standard normal
floats, integers uniform in [LO, HI)), PROG runs on them, and every output is compared with
numpy: moe.route by scripts/moe_reference.py's route (the routing attribute as in the IR),
moe.permute's layout as dialects/moe/MoEOps.td defines it (pairs t * k + j grouped by
expert in token order, each segment padded to a multiple of 4 with T * k, ids outside
[0, 8) left out), the grouped matmuls row by row (the gathered, gated SiLU up projection
with its bias; the down projection) and moe.unpermute's weighted sum. Ids, layouts and
offsets must be equal; routing weights within 1e-6, the f32 matmuls within 1e-5 of the
largest value; the bf16 file (moe-kernels-bf16.mlir: bf16 operands, f32 at the boundary)
within scripts/bf16_tolerance.py's bound. Prints one line per token count and output.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bf16_tolerance import bf16_tolerance  # noqa: E402
from compare_programs import DTYPES, read_info, run  # noqa: E402
from moe_layer_e2e import parse_params  # noqa: E402
from moe_reference import route  # noqa: E402

EXPERTS, BLOCK = 8, 4


def to_bf16(a):
    """`a` rounded to bf16 (to nearest even), as float64."""
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32).astype(np.float64)


def permute(ids):
    """moe.permute: (sorted pairs of the used length, offsets [E + 1])."""
    tokens, k = ids.shape
    flat = ids.reshape(-1)
    sorted_ids, offsets = [], [0]
    for e in range(EXPERTS):
        pairs = [int(p) for p in np.nonzero(flat == e)[0]]
        padded = -(-len(pairs) // BLOCK) * BLOCK
        sorted_ids += pairs + [tokens * k] * (padded - len(pairs))
        offsets.append(offsets[-1] + padded)
    return np.array(sorted_ids, np.int64), np.array(offsets, np.int64)


def silu_gated(h):
    inner = h.shape[-1] // 2
    gate = h[..., :inner]
    return gate / (1 + np.exp(-gate)) * h[..., inner:]


def rows_of(sorted_ids, offsets, k, tokens):
    """(row, token, expert) of every row of the layout that holds a pair."""
    for e in range(EXPERTS):
        for row in range(offsets[e], offsets[e + 1]):
            pair = sorted_ids[row]
            if pair < tokens * k:
                yield row, pair // k, e


class Checker:
    def __init__(self, rows):
        self.rows, self.ok = rows, True

    def exact(self, name, got, want):
        good = got.shape == want.shape and np.array_equal(got, want)
        self.report(name, got, "equal" if good else "DIFFERENT", good)

    def close(self, name, got, want, bound):
        if got.shape != want.shape:
            self.report(name, got, f"MISMATCH: shape, expected {list(want.shape)}", False)
            return
        error = float(np.abs(got - want).max()) if got.size else 0.0
        good = error <= bound and bool(np.isfinite(got).all())
        self.report(name, got, f"max error {error:.2e} (bound {bound:.2e}) "
                               f"{'ok' if good else 'MISMATCH'}", good)

    def report(self, name, got, verdict, good):
        self.ok &= good
        print(f"T={self.rows} {name}: {got.dtype} {list(got.shape)} {verdict}")


def check_f32(out, inputs, routing, score_bias, check):
    # @main's arguments in order: logits, score_bias, x, w_up, b_up, w_down, odd_ids.
    logits, bias, x, w_up, b_up, w_down, odd_ids = (a.astype(np.float64) for a in inputs)
    tokens, k = len(x), routing["k"]
    weights, ids = route(logits, routing, bias if score_bias else None)
    got_w, got_ids = out["output_0"], out["output_1"]
    # The slots' order is the kernel's: compare each token's (expert, weight) pairs by expert.
    order, want_order = np.argsort(got_ids, axis=1), np.argsort(ids, axis=1)
    check.exact("output_1 (route ids, by expert)", np.take_along_axis(got_ids, order, 1),
                np.take_along_axis(ids, want_order, 1).astype(np.int32))
    check.close("output_0 (route weights)", np.take_along_axis(got_w, order, 1),
                np.take_along_axis(weights, want_order, 1), 1e-6 * max(1, np.abs(weights).max(initial=0)))
    # The layout from the kernel's own ids, so that a routing difference is reported once.
    sorted_ids, offsets = permute(got_ids)
    check.exact("output_2 (permute, used length)", out["output_2"][:offsets[-1]].astype(np.int64), sorted_ids)
    check.exact("output_3 (offsets)", out["output_3"].astype(np.int64), offsets)
    h = np.zeros(out["output_4"].shape)
    y_rows = np.zeros(out["output_5"].shape)
    used = list(rows_of(sorted_ids, offsets, k, tokens))
    for row, token, e in used:
        h[row] = silu_gated(x[token] @ w_up[e] + b_up[e])
        y_rows[row] = h[row] @ w_down[e]
    mask = np.zeros(len(h), bool)
    mask[[r for r, _, _ in used]] = True
    scale = lambda a: 1e-5 * max(1e-30, np.abs(a).max(initial=0))
    check.close("output_4 (gated up projection, used rows)", out["output_4"][mask], h[mask], scale(h))
    check.close("output_5 (down projection, used rows)", out["output_5"][mask], y_rows[mask], scale(y_rows))
    y = np.zeros_like(x)
    for row, token, e in used:
        slot = sorted_ids[row] % k
        y[token] += got_w[token, slot] * y_rows[row]
    check.close("output_6 (unpermute)", out["output_6"], y, scale(y))
    odd_sorted, odd_offsets = permute(odd_ids.astype(np.int64))
    check.exact("output_7 (permute of ids partly outside [0, 8), used length)",
                out["output_7"][:odd_offsets[-1]].astype(np.int64), odd_sorted)
    check.exact("output_8 (its offsets)", out["output_8"].astype(np.int64), odd_offsets)


def check_bf16(out, inputs, check):
    # @main's arguments in order: logits, x, w_up, b_up, w_down (f32, rounded by the program).
    logits = inputs[0].astype(np.float64)
    x, w_up, b_up, w_down = (to_bf16(a) for a in inputs[1:])
    tokens, k = len(x), 2
    _, ids = route(logits, dict(scoring="softmax", k=2, renormalize=True))
    sorted_ids, offsets = permute(ids)
    h = np.zeros(out["output_0"].shape)
    down = np.zeros(out["output_1"].shape)
    used = list(rows_of(sorted_ids, offsets, k, tokens))
    for row, token, e in used:
        h[row] = silu_gated(x[token] @ w_up[e] + b_up[e])
        # The down projection of the bf16 h the program computed, so that each product is
        # checked on its own inputs.
        down[row] = to_bf16(out["output_0"][row]) @ w_down[e]
    mask = np.zeros(len(h), bool)
    mask[[r for r, _, _ in used]] = True
    # Inputs rounded here as the program rounds them; the program also rounds its results
    # (the product, the activation) to bf16: the bound of bf16_tolerance's gated MLP.
    scale = lambda a: max(1e-30, np.abs(a).max(initial=0))
    check.close("output_0 (bf16 gated up projection, used rows)", out["output_0"][mask], h[mask],
                bf16_tolerance(scale(h), w_up.shape[1]))
    check.close("output_1 (bf16 down projection, used rows)", out["output_1"][mask], down[mask],
                bf16_tolerance(scale(down), w_down.shape[1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prog")
    parser.add_argument("--kernels", choices=("f32", "bf16"), required=True)
    parser.add_argument("--routing", default="scoring = softmax, k = 2, renormalize = true")
    parser.add_argument("--score-bias", action="store_true",
                        help="the routing takes the score_bias operand")
    parser.add_argument("--rows", type=int, action="append", required=True)
    parser.add_argument("--int-range", type=int, nargs=2, default=(0, 8))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    routing = parse_params(args.routing)
    rng = np.random.default_rng(args.seed)
    ok = True
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            inputs, paths = [], []
            for name, dtype, dims in read_info(args.prog):
                shape = [rows if d is None else d for d in dims]
                if np.issubdtype(DTYPES[dtype], np.integer):
                    value = rng.integers(*args.int_range, size=shape).astype(DTYPES[dtype])
                else:
                    value = rng.standard_normal(shape).astype(DTYPES[dtype])
                path = os.path.join(tmp, f"in_{len(paths)}.npy")
                np.save(path, value)
                inputs.append(value)
                paths.append((name, path))
            out = run(args.prog, paths, os.path.join(tmp, "out"))
        check = Checker(rows)
        if args.kernels == "f32":
            check_f32(out, inputs, routing, args.score_bias, check)
        else:
            check_bf16(out, inputs, check)
        ok &= check.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
