#!/usr/bin/env python3
"""Fills a compiled MoE layer's weights, checks it against PyTorch and times both.

    bench_layer.py {mixtral,deepseek_v3} PROG [--tokens 1,8,64,512,4096] [--device cuda]
                   [--runs N] [--seed S] [--peaks] [--json FILE]

PROG is a program moec compiled from benchmarks/gpu/make_layer.py's model, without its
weights: beside it lie PROG.weights.json (moec's manifest: where each tensor lies in
PROG.weights) and PROG.weights.segments (the file's few non-zero bytes, packed by
benchmarks/gpu/bundle.py). This script recreates PROG.weights (a sparse file of the
manifest's size, the segments written back), writes random bf16 values into the layer's
weights (router, experts, score bias, shared expert: the names moec-raise-hf-moe gives
them), and loads the same values into a Hugging Face style PyTorch module of its own (a
loop over the experts, as transformers' MixtralSparseMoeBlock and DeepseekV3MoE). For each
token count it runs PROG once (MOEC_UNCHECKED_WEIGHTS=1: the weights changed after
compiling) and compares with the module's arithmetic done in f32 on the same bf16 weights
and tokens: every token must be within the bound of bf16 rounding (scripts/bf16_tolerance.py,
dot products of max(hidden, ffn) terms, relative to the token's largest reference value). A
token whose routing is a near tie (its k-th and (k+1)-th routing scores, or DeepSeek's last
chosen and first dropped group scores, closer than bf16 rounding of the logits can move
them) may have taken the other choice: it agrees if either choice is within the bound. Then it times PROG (`--bench`, CUDA events on a GPU
target) and the module (CUDA events; wall clock on the CPU), and prints one table row.
`--peaks` first measures the device's copy bandwidth and bf16 matmul rate with torch.

Needs python3 with numpy and torch (any version from 1.13; CPU or CUDA), and
bf16_tolerance.py beside this script (bundle.py copies it) or in the repository's scripts/.
Exit code 1 when any token disagrees. Timings are reported, never judged.
"""
import argparse
import ast
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "..", "scripts")]
from bf16_tolerance import BF16_ROUNDINGS, bf16_tolerance  # noqa: E402

ROLES = ("router_weight", "up_weight", "down_weight", "score_bias", "shared_up", "shared_down")
SEGMENT_HEADER = np.dtype([("offset", "<u8"), ("length", "<u8")])
# The bf16 roundings of moec's output: those of bf16_tolerance's expert MLP and the bf16
# output file. The reference rounds nothing (f32 arithmetic on the bf16 values).
ROUNDINGS = BF16_ROUNDINGS + 1
# Routing scores closer than this (relative to the largest) are a near tie: rounding the
# logits (bf16 tokens and router weights, sums in either order) can swap them. A tie of
# DeepSeek's group scores swaps whole groups (seen: 1.99868 against 1.99826).
TIE_MARGIN = 4 * 2.0 ** -8
# The wall-clock seconds of a program's run (its start included) that the timed runs of one
# token count may take at most, given the first run's time; at least 3 runs.
RUN_BUDGET_S = 20


# --- the weights file -------------------------------------------------------------------

def restore_weights_file(program, manifest):
    """PROG.weights as moec wrote it: zeros (a hole) but for the packed segments."""
    path = program + ".weights"
    with open(path, "wb") as weights:
        weights.truncate(manifest["size"])
        segments = program + ".weights.segments"
        if os.path.exists(segments):
            with open(segments, "rb") as packed:
                while True:
                    header = packed.read(SEGMENT_HEADER.itemsize)
                    if not header:
                        break
                    offset, length = np.frombuffer(header, SEGMENT_HEADER)[0]
                    weights.seek(int(offset))
                    weights.write(packed.read(int(length)))
    return path


def layer_weights(model, manifest):
    """The manifest's entries of the layer's weights, by role."""
    found = {}
    for entry in manifest["weights"]:
        role = entry["name"].rpartition("/moe.")[2]
        if "/moe." in entry["name"] and role in ROLES:
            if role in found:
                sys.exit(f"bench_layer: two layers' weights in the manifest ({entry['name']})")
            if entry["dtype"] != "bf16":
                sys.exit(f"bench_layer: {entry['name']} is {entry['dtype']}, not bf16")
            found[role] = entry
    for role in ("router_weight", "up_weight", "down_weight"):
        if role not in found:
            sys.exit(f"bench_layer: the manifest has no '<layer>/moe.{role}': not a raised layer")
    # A tensor this small may be embedded as dense elements by the lowering, losing its
    # resource's name: then it is the one bf16 tensor of shape [E].
    experts = found["router_weight"]["shape"][0]
    if model == "deepseek_v3" and "score_bias" not in found:
        candidates = [e for e in manifest["weights"]
                      if e["dtype"] == "bf16" and e["shape"] == [experts]]
        if len(candidates) != 1:
            sys.exit(f"bench_layer: {len(candidates)} tensors could be the score bias")
        found["score_bias"] = candidates[0]
    return found


def bf16_bits(tensor):
    return tensor.contiguous().view(torch.int16).cpu().numpy()


class WeightsWriter:
    def __init__(self, path, entries):
        self.file = np.memmap(path, dtype=np.int16, mode="r+")
        self.entries = entries

    def read(self, role):
        entry = self.entries[role]
        start = entry["offset"] // 2
        bits = np.array(self.file[start:start + entry["bytes"] // 2]).astype(np.int32) << 16
        return torch.from_numpy(bits.view(np.float32).reshape(entry["shape"]))

    def write(self, role, tensor, index=None):
        entry = self.entries[role]
        shape = entry["shape"]
        start = entry["offset"] // 2
        if index is not None:
            per_item = int(np.prod(shape[1:]))
            start += index * per_item
            shape = shape[1:]
        if list(tensor.shape) != list(shape):
            sys.exit(f"bench_layer: {entry['name']} is {shape}, the module has {list(tensor.shape)}")
        count = tensor.numel()
        self.file[start:start + count] = bf16_bits(tensor).reshape(-1)

    def close(self):
        self.file.flush()
        del self.file


# --- the PyTorch module -----------------------------------------------------------------

class Expert:
    """A gated SiLU MLP with nn.Linear's weight layout ([out, in])."""

    def __init__(self, gate, up, down):
        self.gate, self.up, self.down = gate, up, down

    def __call__(self, x):
        return F.linear(F.silu(F.linear(x, self.gate)) * F.linear(x, self.up), self.down)

    def exact(self, x):
        """The same in f32 arithmetic on the bf16 weights."""
        gate, up, down = (w.float() for w in (self.gate, self.up, self.down))
        x = x.float()
        return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)

    @property
    def bytes(self):
        return sum(w.numel() * w.element_size() for w in (self.gate, self.up, self.down))


class MoELayer:
    """MixtralSparseMoeBlock (softmax top-k, renormalized) or DeepseekV3MoE (sigmoid scores,
    score-correction bias, group-limited top-k, scaled, one shared expert), eager."""

    def __init__(self, model, router, experts, k, score_bias=None, shared=None, n_group=None,
                 topk_group=None, scaling=2.5):
        self.model, self.router, self.experts, self.k = model, router, experts, k
        self.score_bias, self.shared = score_bias, shared
        self.n_group, self.topk_group, self.scaling = n_group, topk_group, scaling

    def route(self, x):
        if self.model == "mixtral":
            probs = F.softmax(F.linear(x, self.router), dim=1, dtype=torch.float)
            weights, chosen = torch.topk(probs, self.k, dim=-1)
            weights = weights / weights.sum(dim=-1, keepdim=True)
            return weights.to(x.dtype), chosen
        scores = F.linear(x.float(), self.router.float()).sigmoid()
        choice = scores + self.score_bias.float().unsqueeze(0)
        experts = len(self.experts)
        group_scores = choice.view(-1, self.n_group, experts // self.n_group).topk(2, dim=-1)[0].sum(-1)
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores).scatter_(1, group_idx, 1)
        score_mask = group_mask.unsqueeze(-1).expand(-1, self.n_group, experts // self.n_group)
        choice = choice.masked_fill(~score_mask.reshape(-1, experts).bool(), 0.0)
        chosen = torch.topk(choice, k=self.k, dim=-1, sorted=False)[1]
        weights = scores.gather(1, chosen)
        weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20) * self.scaling
        return weights.to(x.dtype), chosen

    def orders(self, x):
        """In f32 on the bf16 values: the scores the chosen experts are weighted by, and the
        experts by rank, with the alternatives a near tie allows: [(ranked [T, E], allowed
        [T])], the first allowed everywhere. A near tie is two scores closer than TIE_MARGIN
        of the largest: the k-th and (k+1)-th expert, and for DeepSeek the last chosen and
        the first dropped group, whose swap moves several experts at once."""
        x = x.float()
        tokens = x.shape[0]
        rows = torch.arange(tokens, device=x.device)
        everywhere = torch.ones(tokens, dtype=torch.bool, device=x.device)
        if self.model == "mixtral":
            scores = F.softmax(F.linear(x, self.router.float()), dim=1)
            choices = [(scores, everywhere)]
        else:
            scores = F.linear(x, self.router.float()).sigmoid()
            biased = scores + self.score_bias.float().unsqueeze(0)
            experts = len(self.experts)
            grouped = biased.view(-1, self.n_group, experts // self.n_group)
            group_scores = grouped.topk(2, dim=-1)[0].sum(-1)
            group_rank = torch.argsort(group_scores, dim=-1, descending=True)
            last = group_scores[rows, group_rank[:, self.topk_group - 1]]
            first_out = group_scores[rows, group_rank[:, self.topk_group]] \
                if self.topk_group < self.n_group else last - float("inf")
            group_tie = (last - first_out) <= TIE_MARGIN * group_scores.abs().max(dim=-1).values
            other_groups = group_rank.clone()
            if self.topk_group < self.n_group:
                other_groups[:, [self.topk_group - 1, self.topk_group]] = \
                    group_rank[:, [self.topk_group, self.topk_group - 1]]
            choices = []
            for ranks, allowed in ((group_rank, everywhere), (other_groups, group_tie)):
                mask = torch.zeros_like(group_scores).scatter_(1, ranks[:, :self.topk_group], 1)
                keep = mask.unsqueeze(-1).expand_as(grouped).reshape(-1, experts).bool()
                choices.append((biased.masked_fill(~keep, 0.0), allowed))
        orders = []
        for choice, allowed in choices:
            ranked = torch.argsort(choice, dim=-1, descending=True)
            kth, next_ = choice[rows, ranked[:, self.k - 1]], choice[rows, ranked[:, self.k]]
            expert_tie = (kth - next_) <= TIE_MARGIN * choice.abs().max(dim=-1).values
            swapped = ranked.clone()
            swapped[:, [self.k - 1, self.k]] = ranked[:, [self.k, self.k - 1]]
            orders += [(ranked, allowed), (swapped, allowed & expert_tie)]
        return scores, orders

    def exact(self, x):
        """The layer in f32 arithmetic on the bf16 weights and tokens ([tokens, hidden]) for
        each routing orders() allows: [(output, allowed)]."""
        scores, orders = self.orders(x)
        outputs = []
        for order, allowed in orders:
            chosen = order[:, :self.k]
            weights = scores.gather(1, chosen)
            if self.model == "mixtral":
                weights = weights / weights.sum(dim=-1, keepdim=True)
            else:
                weights = weights / (weights.sum(dim=-1, keepdim=True) + 1e-20) * self.scaling
            out = torch.zeros(x.shape, dtype=torch.float, device=x.device)
            for e, expert in enumerate(self.experts):
                tokens, slots = torch.where(chosen == e)
                if tokens.numel():
                    out.index_add_(0, tokens, expert.exact(x[tokens]) * weights[tokens, slots, None])
            if self.shared is not None:
                out = out + self.shared.exact(x)
            outputs.append((out, allowed))
        return outputs

    def __call__(self, x):
        weights, chosen = self.route(x)
        out = torch.zeros_like(x)
        mask = F.one_hot(chosen, num_classes=len(self.experts)).permute(2, 0, 1)
        for e, expert in enumerate(self.experts):
            tokens, slots = torch.where(mask[e])
            if tokens.numel() == 0:  # as transformers' loops skip idle experts
                continue
            y = expert(x[tokens]) * weights[tokens, slots, None]
            out.index_add_(0, tokens, y.to(x.dtype))
        if self.shared is not None:
            out = out + self.shared(x)
        return out, chosen


def build_layer(model, entries, writer, device, generator, args):
    """Random weights, into the file and into the module."""
    def randn(*shape, scale):
        return (torch.randn(*shape, generator=generator, device=device) * scale).to(torch.bfloat16)

    experts_count, hidden = entries["router_weight"]["shape"]
    inner = entries["down_weight"]["shape"][1]
    # Spread router logits (std 4) so that routing is decisive, as the fixtures do.
    router = randn(experts_count, hidden, scale=4 / math.sqrt(hidden))
    writer.write("router_weight", router)

    def expert(up_role, down_role, index=None):
        gate, up = randn(inner, hidden, scale=hidden ** -0.5), randn(inner, hidden, scale=hidden ** -0.5)
        down = randn(hidden, inner, scale=inner ** -0.5)
        # moe.layer's layout: up [H, 2I], gate columns first; down [I, H].
        writer.write(up_role, torch.cat([gate.t(), up.t()], dim=1), index)
        writer.write(down_role, down.t(), index)
        return Expert(gate, up, down)

    experts = [expert("up_weight", "down_weight", e) for e in range(experts_count)]
    score_bias = shared = None
    if "score_bias" in entries:
        # Kept as make_layer.py wrote it (non-negative, as moec-raise-hf-moe requires of a
        # bias with routing masked to 0; the program may hold it embedded, not in the file).
        score_bias = writer.read("score_bias").to(device=device, dtype=torch.bfloat16)
    if "shared_up" in entries:
        shared = expert("shared_up", "shared_down")
    return MoELayer(model, router, experts, args.k, score_bias, shared, args.n_group,
                    args.topk_group)


# --- .npy files in bf16 (numpy has no bf16; moec reads and writes descr 'bfloat16') --------

def save_bf16(path, tensor):
    header = "{'descr': 'bfloat16', 'fortran_order': False, 'shape': %s, }" % (tuple(tensor.shape),)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
        f.write(bf16_bits(tensor).tobytes())


def load_bf16(path):
    raw = open(path, "rb").read()
    header_length = int.from_bytes(raw[8:10], "little")
    header = ast.literal_eval(raw[10:10 + header_length].decode())
    if header["descr"] != "bfloat16":
        sys.exit(f"bench_layer: {path} is {header['descr']}, not bfloat16")
    bits = np.frombuffer(raw[10 + header_length:], "<u2").astype(np.uint32) << 16
    return torch.from_numpy(bits.view(np.float32).reshape(header["shape"]).copy())


# --- timing ---------------------------------------------------------------------------------

def time_ms(function, device, runs, warmup=3):
    """Median milliseconds of `runs` calls after `warmup`: CUDA events on a GPU."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(runs):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            function()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            begin = time.perf_counter()
            function()
            times.append((time.perf_counter() - begin) * 1e3)
    return statistics.median(times)


def measure_peaks(device, runs):
    """The copy bandwidth (bytes read + written per second) and the bf16 matmul rate."""
    size = 1 << 31
    source = torch.empty(size, dtype=torch.uint8, device=device).random_(0, 255)
    target = torch.empty_like(source)
    copy_ms = time_ms(lambda: target.copy_(source), device, runs)
    del source, target
    n = 8192
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    matmul_ms = time_ms(lambda: a @ b, device, runs)
    return 2 * size / copy_ms / 1e6, 2 * n ** 3 / matmul_ms / 1e9


def run_program(program, args, env):
    result = subprocess.run([program] + args, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"bench_layer: {program} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=("mixtral", "deepseek_v3"))
    parser.add_argument("program")
    parser.add_argument("--tokens", default="1,8,64,512,4096")
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--n-group", type=int)
    parser.add_argument("--topk-group", type=int)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peaks", action="store_true",
                        help="measure copy bandwidth and bf16 matmul rate first")
    parser.add_argument("--json", help="append the rows as JSON lines to this file")
    args = parser.parse_args()
    device = torch.device(args.device)
    program = os.path.abspath(args.program)

    manifest = json.load(open(program + ".weights.json"))
    entries = layer_weights(args.model, manifest)
    path = restore_weights_file(program, manifest)
    writer = WeightsWriter(path, entries)
    generator = torch.Generator(device=device).manual_seed(args.seed)
    with torch.no_grad():
        layer = build_layer(args.model, entries, writer, device, generator, args)
    writer.close()

    copy_gbs = matmul_tflops = None
    if args.peaks:
        copy_gbs, matmul_tflops = measure_peaks(device, args.runs)
        print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; "
              f"copy {copy_gbs:.0f} GB/s (read + written), bf16 matmul {matmul_tflops:.0f} TFLOP/s")

    hidden = entries["router_weight"]["shape"][1]
    expert_bytes = layer.experts[0].bytes
    always_bytes = entries["router_weight"]["bytes"] + (layer.shared.bytes if layer.shared else 0)
    inner = entries["down_weight"]["shape"][1]
    env = dict(os.environ, MOEC_UNCHECKED_WEIGHTS="1")
    dot_terms = max(hidden, inner)
    print("| layer | tokens | moec ms | PyTorch ms | speed-up | experts touched | moec GB/s | "
          "% of copy | moec TFLOP/s | % of bf16 peak | tokens agreeing |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    failures = 0
    with tempfile.TemporaryDirectory() as work, torch.no_grad():
        for tokens in [int(t) for t in args.tokens.split(",")]:
            x = torch.randn(1, tokens, hidden, generator=generator, device=device).to(torch.bfloat16)
            save_bf16(os.path.join(work, "x.npy"), x)
            begin = time.perf_counter()
            run_program(program, ["--input", f"x={work}/x.npy", "--output-dir", work], env)
            # Fewer timed runs where one takes long (a slow kernel at 4096 tokens), so that
            # the whole benchmark fits one device call: about RUN_BUDGET_S of runs each.
            runs = max(3, min(args.runs, int(RUN_BUDGET_S / (time.perf_counter() - begin))))
            ours = load_bf16(os.path.join(work, "y.npy")).reshape(tokens, hidden)
            references = [(out.cpu(), allowed.cpu())
                          for out, allowed in layer.exact(x.reshape(tokens, hidden))]
            _, chosen = layer.route(x.reshape(tokens, hidden))
            reference = references[0][0]
            bound = bf16_tolerance(reference.abs().max(dim=-1).values, dot_terms, ROUNDINGS)
            error = (ours - reference).abs().max(dim=-1).values
            within = error <= bound
            for other, allowed in references[1:]:
                within |= allowed & ((ours - other).abs().max(dim=-1).values <= bound)
            within &= torch.isfinite(ours).all(dim=-1)
            agreeing = float(within.float().mean())
            ties_taken = int(((error > bound) & within).sum())
            token_error = error / bound
            if not bool(within.all()):
                failures += 1
            bench = json.loads(run_program(program, ["--input", f"x={work}/x.npy", "--bench",
                                                     str(runs)], env).strip().splitlines()[-1])
            moec_ms = bench["median_ms"]
            torch_ms = time_ms(lambda: layer(x.reshape(tokens, hidden)), device, runs)
            touched = int(torch.unique(chosen).numel())
            gbs = (touched * expert_bytes + always_bytes) / moec_ms / 1e6
            flops = 2 * tokens * 3 * hidden * inner * (args.k + (1 if layer.shared else 0))
            tflops = flops / moec_ms / 1e9
            row = dict(layer=args.model, tokens=tokens, moec_ms=moec_ms, torch_ms=torch_ms,
                       speedup=torch_ms / moec_ms, experts_touched=touched, moec_gbs=gbs,
                       copy_pct=100 * gbs / copy_gbs if copy_gbs else None, moec_tflops=tflops,
                       peak_pct=100 * tflops / matmul_tflops if matmul_tflops else None,
                       runs=runs, agreeing=agreeing, ties_taken_other_way=ties_taken,
                       max_error_over_bound=float(token_error.max()))
            pct = lambda v: "n/a" if v is None else f"{v:.0f}%"
            print(f"| {args.model} | {tokens} | {moec_ms:.3f} | {torch_ms:.3f} | "
                  f"{row['speedup']:.2f}x | {touched} | {gbs:.0f} | {pct(row['copy_pct'])} | "
                  f"{tflops:.1f} | {pct(row['peak_pct'])} | {100 * agreeing:.1f}% |", flush=True)
            if not bool(within.all()):
                worst = int(torch.argmax(torch.where(within, torch.zeros_like(token_error), token_error)))
                print(f"bench_layer: {args.model}: {tokens} tokens: {int((~within).sum())} outside "
                      f"the bf16 bound; token {worst}: error {float(error[worst]):.3g}, bound "
                      f"{float(bound[worst]):.3g}", flush=True)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps(row) + "\n")
    print(f"bench_layer: {args.model}: " + ("FAIL: outputs disagree with PyTorch" if failures
                                             else "outputs agree with PyTorch (every token)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
