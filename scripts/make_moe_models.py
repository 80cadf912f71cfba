#!/usr/bin/python3
"""Exports Hugging Face style sparse MoE blocks with torch.onnx.export (deterministic).

    /usr/bin/python3 scripts/make_moe_models.py OUT_DIR [--only NAME ...]
        [--hidden H] [--ffn I] [--experts E] [--k K] [--no-samples]

Needs PyTorch (Debian's python3-torch 1.13; not in the project's .venv). Every model is one
MoE block from x [batch, seq, hidden] to y of the same shape, exported by the TorchScript
exporter at opset 17 with dynamic batch and sequence. The modules follow the Hugging Face
code of each model family in its loop-over-experts form: router Linear, scores, top-k,
one_hot mask, and per expert torch.where + gather + MLP + index_add_.

Next to each MODEL.onnx goes MODEL.npz with a few (input, PyTorch output) pairs: arrays
x0, y0, x1, y1, ... (sizes 1x1, 2x3, 3x5).

The size flags override every model's defaults, so a benchmark can build a Mixtral-scale
layer: --only mixtral --hidden 4096 --ffn 14336 --experts 8 --k 2.

Besides the routing variants, the "bad_*" models are MoE-shaped graphs that moec must not
raise (an activation moe does not know, a missing expert, experts with different bodies,
one expert twice as wide as the others, an extra op in one expert, DeepSeek-V3 routing
that differs in one detail); they check that raising declines with a reason.
"""
import argparse
import math
import os
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

OPSET = 17
SAMPLE_SIZES = [(1, 1), (2, 3), (3, 5)]


# ---------------------------------------------------------------------------------------
# Expert bodies
# ---------------------------------------------------------------------------------------

ACTIVATIONS = {
    "silu": F.silu,
    "relu": F.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "softsign": F.softsign,
}


class GatedMLP(nn.Module):
    """Mixtral's MixtralBlockSparseTop2MLP / Qwen2MoeMLP / DeepseekV3MLP: down(act(gate(x)) * up(x))."""

    def __init__(self, hidden, inner, act="silu", bias=False):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inner, bias=bias)
        self.up_proj = nn.Linear(hidden, inner, bias=bias)
        self.down_proj = nn.Linear(inner, hidden, bias=bias)
        self.act_fn = ACTIVATIONS[act]

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class PlainMLP(nn.Module):
    """SwitchTransformersDenseActDense: wo(act(wi(x)))."""

    def __init__(self, hidden, inner, act="relu", bias=False):
        super().__init__()
        self.wi = nn.Linear(hidden, inner, bias=bias)
        self.wo = nn.Linear(inner, hidden, bias=bias)
        self.act = ACTIVATIONS[act]

    def forward(self, x):
        return self.wo(self.act(self.wi(x)))


class ScaledMLP(PlainMLP):
    """A plain MLP whose output is doubled: one op more than its siblings."""

    def forward(self, x):
        return super().forward(x) * 2.0


class GptOssExpert(nn.Module):
    """One expert of GptOssExperts: interleaved gate/up columns, biases, clamped SwiGLU."""

    def __init__(self, hidden, inner, alpha=1.702, limit=7.0):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.randn(hidden, 2 * inner) / math.sqrt(hidden))
        self.gate_up_proj_bias = nn.Parameter(torch.randn(2 * inner) * 0.1)
        self.down_proj = nn.Parameter(torch.randn(inner, hidden) / math.sqrt(inner))
        self.down_proj_bias = nn.Parameter(torch.randn(hidden) * 0.1)
        self.alpha, self.limit = alpha, limit

    def forward(self, x):
        gate_up = x @ self.gate_up_proj + self.gate_up_proj_bias
        gate, up = gate_up[..., ::2], gate_up[..., 1::2]
        gate = gate.clamp(min=None, max=self.limit)
        up = up.clamp(min=-self.limit, max=self.limit)
        glu = gate * torch.sigmoid(gate * self.alpha)
        return ((up + 1) * glu) @ self.down_proj + self.down_proj_bias


# ---------------------------------------------------------------------------------------
# Sparse MoE blocks
# ---------------------------------------------------------------------------------------

class SparseMoeBlock(nn.Module):
    """MixtralSparseMoeBlock's loop: softmax, top-k, optional renormalization, one_hot mask
    permuted to [E, k, T], and per expert torch.where + index_add_."""

    def __init__(self, hidden, experts, k, make_expert, renormalize=True, skip_expert=None):
        super().__init__()
        self.hidden, self.num_experts, self.top_k = hidden, experts, k
        self.renormalize = renormalize
        self.gate = nn.Linear(hidden, experts, bias=False)
        self.experts = nn.ModuleList([make_expert(e) for e in range(experts)])
        self.skip_expert = skip_expert

    def route(self, hidden_states):
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        if self.renormalize:
            routing_weights = routing_weights / routing_weights.sum(dim=-1, keepdim=True)
        return routing_weights, selected_experts

    def combine(self, hidden_states, routing_weights, selected_experts):
        final_hidden_states = torch.zeros_like(hidden_states)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        for expert_idx in range(self.num_experts):
            if expert_idx == self.skip_expert:
                continue
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, self.hidden)
            current_hidden_states = (self.experts[expert_idx](current_state) *
                                     routing_weights[top_x, idx, None])
            final_hidden_states.index_add_(0, top_x, current_hidden_states)
        return final_hidden_states

    def forward(self, hidden_states):
        batch, seq, hidden = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden)
        routing_weights, selected_experts = self.route(hidden_states)
        out = self.combine(hidden_states, routing_weights, selected_experts)
        return out.reshape(batch, seq, hidden)


class Qwen2MoeSparseMoeBlock(SparseMoeBlock):
    """No renormalization, plus a shared expert gated by sigmoid(Linear(H, 1))."""

    def __init__(self, hidden, inner, experts, k):
        super().__init__(hidden, experts, k, lambda e: GatedMLP(hidden, inner),
                         renormalize=False)
        self.shared_expert = GatedMLP(hidden, 2 * inner)
        self.shared_expert_gate = nn.Linear(hidden, 1, bias=False)

    def forward(self, hidden_states):
        batch, seq, hidden = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden)
        routing_weights, selected_experts = self.route(hidden_states)
        out = self.combine(hidden_states, routing_weights, selected_experts)
        shared = self.shared_expert(hidden_states)
        out = out + torch.sigmoid(self.shared_expert_gate(hidden_states)) * shared
        return out.reshape(batch, seq, hidden)


class GptOssMLP(SparseMoeBlock):
    """GPT-OSS: router Linear with bias, top-k on the logits, softmax over the k."""

    def __init__(self, hidden, inner, experts, k):
        super().__init__(hidden, experts, k, lambda e: GptOssExpert(hidden, inner))
        self.gate = nn.Linear(hidden, experts, bias=True)

    def route(self, hidden_states):
        router_logits = self.gate(hidden_states)
        top_values, selected_experts = torch.topk(router_logits, self.top_k, dim=-1)
        return F.softmax(top_values, dim=1, dtype=top_values.dtype), selected_experts


class DeepseekV3MoE(nn.Module):
    """DeepseekV3TopkRouter + DeepseekV3MoE: sigmoid scores, e_score_correction_bias for
    choosing only, group-limited top-k, renormalized weights times routed_scaling_factor,
    one shared expert. The mask is permuted to [E, T, k] as in DeepseekV3MoE.moe. (HF skips
    experts with no tokens with an `if`, which tracing would freeze; it is left out.)

    For the models moec must not raise: `group_top` ranks groups by the sum of their best
    `group_top` scores instead of 2; `biased_weights` takes the weights from the biased
    scores; `bias_offset` shifts the bias, so that negative entries let experts of the
    groups masked out (to 0) win slots."""

    def __init__(self, hidden, inner, experts, k, n_group, topk_group, scaling=2.5,
                 group_top=2, biased_weights=False, bias_offset=0.0):
        super().__init__()
        self.hidden, self.num_experts, self.top_k = hidden, experts, k
        self.n_group, self.topk_group, self.routed_scaling_factor = n_group, topk_group, scaling
        self.group_top, self.biased_weights = group_top, biased_weights
        self.weight = nn.Parameter(torch.randn(experts, hidden) / math.sqrt(hidden))
        # Non-negative (without an offset), so that the experts of the groups masked out
        # (scores set to 0) never win a slot.
        self.register_buffer("e_score_correction_bias", torch.rand(experts) * 0.1 + bias_offset)
        self.experts = nn.ModuleList([GatedMLP(hidden, inner) for _ in range(experts)])
        self.shared_experts = GatedMLP(hidden, inner)

    def get_topk_indices(self, scores):
        experts_per_group = self.num_experts // self.n_group
        scores_for_choice = scores.view(-1, self.num_experts) + self.e_score_correction_bias.unsqueeze(0)
        group_scores = (scores_for_choice.view(-1, self.n_group, experts_per_group)
                        .topk(self.group_top, dim=-1)[0].sum(dim=-1))
        group_idx = torch.topk(group_scores, k=self.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = (group_mask.unsqueeze(-1).expand(-1, self.n_group, experts_per_group)
                      .reshape(-1, self.num_experts))
        scores_for_choice = scores_for_choice.masked_fill(~score_mask.bool(), 0.0)
        return torch.topk(scores_for_choice, k=self.top_k, dim=-1, sorted=False)[1]

    def forward(self, hidden_states):
        batch, seq, hidden = hidden_states.shape
        residuals = hidden_states
        hidden_states = hidden_states.view(-1, hidden)
        scores = F.linear(hidden_states, self.weight).sigmoid()
        topk_indices = self.get_topk_indices(scores)
        weights_from = (scores + self.e_score_correction_bias if self.biased_weights
                        else scores)
        topk_weights = weights_from.gather(1, topk_indices)
        topk_weights = topk_weights / (topk_weights.sum(dim=-1, keepdim=True) + 1e-20)
        topk_weights = topk_weights * self.routed_scaling_factor

        final_hidden_states = torch.zeros_like(hidden_states)
        expert_mask = F.one_hot(topk_indices, num_classes=self.num_experts).permute(2, 0, 1)
        for expert_idx in range(self.num_experts):
            token_indices, weight_indices = torch.where(expert_mask[expert_idx])
            expert_weights = topk_weights[token_indices, weight_indices]
            expert_output = self.experts[expert_idx](hidden_states[token_indices])
            final_hidden_states.index_add_(0, token_indices,
                                           expert_output * expert_weights.unsqueeze(-1))
        out = final_hidden_states.view(batch, seq, hidden)
        return out + self.shared_experts(residuals)


# ---------------------------------------------------------------------------------------
# The models
# ---------------------------------------------------------------------------------------

def gated(act="silu", bias=False):
    return lambda h, i: (lambda e: GatedMLP(h, i, act, bias))


def plain(act, bias=False):
    return lambda h, i: (lambda e: PlainMLP(h, i, act, bias))


def loop_block(body, renormalize=True, skip_expert=None):
    def make(h, i, e, k):
        return SparseMoeBlock(h, e, k, body(h, i), renormalize, skip_expert)
    return make


# Set by --n-group and --topk-group (DeepSeek-V3 itself: 8 and 4), for benchmarks/gpu.
GROUPS = {"n_group": 4, "topk_group": 2}


def deepseek_v3(**variant):
    return lambda h, i, e, k: DeepseekV3MoE(h, i, e, k, **GROUPS, **variant)


def mixed_bodies(h, i, e, k):
    return SparseMoeBlock(h, e, k, lambda n: PlainMLP(h, i, "gelu" if n == 1 else "relu"))


def mixed_sizes(h, i, e, k):
    return SparseMoeBlock(h, e, k, lambda n: GatedMLP(h, 2 * i if n == 1 else i, "silu", False))


def extra_op(h, i, e, k):
    return SparseMoeBlock(h, e, k, lambda n: (ScaledMLP if n == e - 1 else PlainMLP)(h, i))


# name: (builder(hidden, inner, experts, k), hidden, inner, experts, k)
MODELS = {
    "mixtral": (loop_block(gated("silu")), 16, 32, 8, 2),
    "qwen2_moe": (lambda h, i, e, k: Qwen2MoeSparseMoeBlock(h, i, e, k), 16, 32, 8, 2),
    "switch": (loop_block(plain("relu"), renormalize=False), 16, 32, 4, 1),
    "deepseek_v3": (deepseek_v3(), 16, 32, 16, 4),
    "gpt_oss": (lambda h, i, e, k: GptOssMLP(h, i, e, k), 16, 32, 4, 2),
    "geglu_bias": (loop_block(gated("gelu_tanh", bias=True)), 32, 64, 4, 2),
    "gelu_mlp_bias": (loop_block(plain("gelu", bias=True), renormalize=False), 16, 32, 4, 2),
    "relu_mlp_bias": (loop_block(plain("relu", bias=True)), 16, 32, 4, 2),
    "bad_softsign": (loop_block(plain("softsign")), 16, 32, 4, 2),
    "bad_missing_expert": (loop_block(gated("silu"), skip_expert=2), 16, 32, 4, 2),
    "bad_mixed_bodies": (mixed_bodies, 16, 32, 4, 2),
    "bad_mixed_sizes": (mixed_sizes, 16, 32, 4, 2),
    "bad_extra_op": (extra_op, 16, 32, 4, 2),
    "bad_deepseek_top3_groups": (deepseek_v3(group_top=3), 16, 32, 16, 4),
    "bad_deepseek_biased_weights": (deepseek_v3(biased_weights=True), 16, 32, 16, 4),
    "bad_deepseek_negative_bias": (deepseek_v3(bias_offset=-0.05), 16, 32, 16, 4),
}


def build(name, args):
    make, hidden, inner, experts, k = MODELS[name]
    hidden = args.hidden or hidden
    inner = args.ffn or inner
    experts = args.experts or experts
    k = args.k or k
    # Seeded by the name alone, so that adding a model leaves the others' bytes alone.
    torch.manual_seed(zlib.crc32(name.encode()))
    with torch.no_grad():
        module = make(hidden, inner, experts, k).eval()
        # Linear's default init gives tiny routers; spread the logits so routing is decisive.
        for param_name, param in module.named_parameters():
            if param_name in ("gate.weight", "weight"):
                param.mul_(4.0)
    return module, hidden


def export(name, module, hidden, path):
    x = torch.randn(2, 3, hidden, generator=torch.Generator().manual_seed(7))
    with warnings.catch_warnings():
        # index_add_ exports as ScatterElements, which warns that duplicate indices are
        # undefined: within one expert the token indices are unique.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (x,), path, opset_version=OPSET, input_names=["x"],
                          output_names=["y"], do_constant_folding=True,
                          dynamic_axes={"x": {0: "batch", 1: "seq"},
                                        "y": {0: "batch", 1: "seq"}})


def write_samples(module, hidden, path):
    generator = torch.Generator().manual_seed(11)
    arrays = {}
    with torch.no_grad():
        for n, (batch, seq) in enumerate(SAMPLE_SIZES):
            x = torch.randn(batch, seq, hidden, generator=generator)
            arrays[f"x{n}"] = x.numpy()
            arrays[f"y{n}"] = module(x).numpy()
    # np.savez stamps no dates into the archive, so the file is reproducible.
    np.savez(path, **arrays)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--only", action="append", choices=sorted(MODELS), metavar="NAME")
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--ffn", type=int)
    parser.add_argument("--experts", type=int)
    parser.add_argument("--k", type=int)
    parser.add_argument("--n-group", type=int, help="DeepSeek-V3's expert groups")
    parser.add_argument("--topk-group", type=int, help="DeepSeek-V3's groups kept per token")
    parser.add_argument("--no-samples", action="store_true",
                        help="skip the .npz of PyTorch outputs (slow at large sizes)")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    GROUPS["n_group"] = args.n_group or GROUPS["n_group"]
    GROUPS["topk_group"] = args.topk_group or GROUPS["topk_group"]
    for name in args.only or sorted(MODELS):
        module, hidden = build(name, args)
        export(name, module, hidden, os.path.join(args.out_dir, name + ".onnx"))
        if not args.no_samples:
            write_samples(module, hidden, os.path.join(args.out_dir, name + ".npz"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
