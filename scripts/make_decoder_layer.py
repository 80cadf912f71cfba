#!/usr/bin/python3
"""Exports one Mixtral-like decoder layer with torch.onnx.export (deterministic).

    /usr/bin/python3 scripts/make_decoder_layer.py OUT.onnx [--hidden 1024] [--heads 8]
        [--kv-heads 2] [--ffn 2816] [--experts 8] [--k 2]

Needs PyTorch (Debian's python3-torch; not in the project's .venv). The layer is Mixtral's
(transformers' MixtralDecoderLayer, written out so that the TorchScript exporter at opset 17
takes it): RMSNorm, causal self-attention with rotary position embeddings and grouped
key/value heads (head dim hidden / heads), a residual add, RMSNorm, the sparse MoE block of
scripts/make_moe_models.py (`mixtral`: softmax top-k renormalized, SwiGLU experts, Hugging
Face's loop over experts) and a residual add. Input x [batch, seq, hidden], output y of the
same shape, batch and sequence dynamic; positions are 0 .. seq - 1 (no KV cache).
"""
import argparse
import math
import os
import sys
import warnings

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_moe_models import GatedMLP, SparseMoeBlock  # noqa: E402

OPSET = 17
ROPE_THETA = 1e6  # Mixtral's
RMS_EPS = 1e-5


class RMSNorm(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.weight = nn.Parameter(1.0 + 0.1 * torch.randn(hidden))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    """Causal self-attention with rotary embeddings; `kv_heads` key/value heads, each shared
    by heads / kv_heads query heads (repeated as transformers' repeat_kv does)."""

    def __init__(self, hidden, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.q_proj = nn.Linear(hidden, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, hidden, bias=False)
        exponents = torch.arange(0, self.head_dim, 2, dtype=torch.float) / self.head_dim
        self.register_buffer("inv_freq", 1.0 / (ROPE_THETA ** exponents), persistent=False)

    def repeat_kv(self, x, batch, seq):
        groups = self.heads // self.kv_heads
        x = x[:, :, None].expand(batch, self.kv_heads, groups, seq, self.head_dim)
        return x.reshape(batch, self.heads, seq, self.head_dim)

    def forward(self, x):
        batch, seq, _ = x.shape
        q = self.q_proj(x).view(batch, seq, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, seq, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, seq, self.kv_heads, self.head_dim).transpose(1, 2)
        positions = torch.arange(seq, dtype=torch.float)
        freqs = positions[:, None] * self.inv_freq[None, :]
        angles = torch.cat((freqs, freqs), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = self.repeat_kv(k, batch, seq), self.repeat_kv(v, batch, seq)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        index = torch.arange(seq)
        future = index[None, :] > index[:, None]
        scores = scores.masked_fill(future, torch.finfo(torch.float).min)
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(batch, seq, -1)
        return self.o_proj(out)


class DecoderLayer(nn.Module):
    def __init__(self, hidden, heads, kv_heads, ffn, experts, k):
        super().__init__()
        self.input_layernorm = RMSNorm(hidden)
        self.self_attn = Attention(hidden, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(hidden)
        self.block_sparse_moe = SparseMoeBlock(hidden, experts, k,
                                               lambda e: GatedMLP(hidden, ffn, "silu"))

    def forward(self, x):
        h = x + self.self_attn(self.input_layernorm(x))
        return h + self.block_sparse_moe(self.post_attention_layernorm(h))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--ffn", type=int, default=2816)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--k", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    with torch.no_grad():
        layer = DecoderLayer(args.hidden, args.heads, args.kv_heads, args.ffn, args.experts,
                             args.k).eval()
        # Linear's default init gives tiny routers; spread the logits so routing is decisive.
        layer.block_sparse_moe.gate.weight.mul_(4.0)
    x = torch.randn(1, 3, args.hidden, generator=torch.Generator().manual_seed(7))
    with warnings.catch_warnings():
        # index_add_ exports as ScatterElements, which warns that duplicate indices are
        # undefined: within one expert the token indices are unique.
        warnings.simplefilter("ignore")
        torch.onnx.export(layer, (x,), args.output, opset_version=OPSET, input_names=["x"],
                          output_names=["y"], do_constant_folding=True,
                          dynamic_axes={"x": {0: "batch", 1: "seq"},
                                        "y": {0: "batch", 1: "seq"}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
