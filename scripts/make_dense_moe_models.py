#!/usr/bin/python3
"""Exports dense-masked Mixture-of-Experts layers with PyTorch (run with Debian's torch).

    make_dense_moe_models.py OUT_DIR                      # every fixture, with its .npz
    make_dense_moe_models.py --model NAME --output PATH   # one model, e.g. for a benchmark
        [--hidden H] [--ffn I] [--experts E] [--k K] [--seed S]

In the dense-masked style every expert runs on every token and a scattered top-k mask picks
the result: router Linear -> scores -> TopK -> (renormalize) -> dense routing weights
`zeros([T, E]).scatter(1, top_i, top_v)` (ScatterElements) -> all experts at once over
stacked [E, ...] weights (Einsum or batched MatMul) -> combine with the dense weights.

- mixtral_einsum: softmax top-2 with renormalization, SwiGLU experts, torch.einsum for the
  projections and for the combine 'te,eth->th'.
- switch_bmm: softmax top-1 (Switch), ReLU experts, `x.unsqueeze(0) @ W` over [E, H, N]
  and the combine `(out * dense.T[..., None]).sum(0)`.
- gptoss_bmm: GPT-OSS: router with bias, top-k on the logits then softmax over the k,
  experts with biases and interleaved gate/up columns, clamped SwiGLU (alpha 1.702,
  limit 7), written as Hugging Face's GptOssExperts inference path (`bmm` over
  `x.repeat(E, 1, 1)`).
- deepseek_einsum: DeepSeek-V3-like sigmoid scores, a score-correction bias for choosing
  only, renormalization and a routed scaling factor (2.5); SwiGLU experts with Einsum.

Every model maps x [batch, seq, hidden] (dynamic batch and seq) to y of the same shape,
opset 17. OUT_DIR/NAME.npz holds `x` (a [2, 3, hidden] input) and `y`, torch's output.
Exports are deterministic: fixed seeds, and the exporter's node names are stable.
"""
import argparse
import warnings
import io
import os

import numpy as np
import torch
from torch import nn

OPSET = 17


class DenseMoE(nn.Module):
    """The routing half every variant shares: router scores to dense [T, E] weights."""

    def __init__(self, hidden, ffn, experts, k, router_bias=False):
        super().__init__()
        self.hidden, self.ffn, self.experts, self.k = hidden, ffn, experts, k
        self.router = nn.Linear(hidden, experts, bias=router_bias)

    def stacked(self, *shape):
        fan_in = shape[-2]
        return nn.Parameter(torch.randn(*shape) / fan_in ** 0.5)

    def dense_weights(self, tokens):
        raise NotImplementedError

    def experts_out(self, tokens, dense):
        raise NotImplementedError

    def forward(self, x):
        batch, seq, hidden = x.shape
        tokens = x.reshape(-1, hidden)
        y = self.experts_out(tokens, self.dense_weights(tokens))
        return y.reshape(batch, seq, hidden)


def softmax_topk_dense(logits, k, renormalize):
    scores = torch.softmax(logits, dim=-1)
    top_v, top_i = torch.topk(scores, k, dim=-1)
    if renormalize:
        top_v = top_v / top_v.sum(dim=-1, keepdim=True)
    return torch.zeros_like(scores).scatter(1, top_i, top_v)


class MixtralEinsum(DenseMoE):
    def __init__(self, hidden=32, ffn=64, experts=8, k=2):
        super().__init__(hidden, ffn, experts, k)
        self.w_gate = self.stacked(experts, hidden, ffn)
        self.w_up = self.stacked(experts, hidden, ffn)
        self.w_down = self.stacked(experts, ffn, hidden)

    def dense_weights(self, tokens):
        return softmax_topk_dense(self.router(tokens), self.k, renormalize=True)

    def experts_out(self, tokens, dense):
        gate = torch.einsum("th,ehn->etn", tokens, self.w_gate)
        up = torch.einsum("th,ehn->etn", tokens, self.w_up)
        out = torch.einsum("etn,enh->eth", nn.functional.silu(gate) * up, self.w_down)
        return torch.einsum("te,eth->th", dense, out)


class SwitchBmm(DenseMoE):
    def __init__(self, hidden=16, ffn=32, experts=4, k=1):
        super().__init__(hidden, ffn, experts, k)
        self.w_up = self.stacked(experts, hidden, ffn)
        self.w_down = self.stacked(experts, ffn, hidden)

    def dense_weights(self, tokens):
        return softmax_topk_dense(self.router(tokens), self.k, renormalize=False)

    def experts_out(self, tokens, dense):
        h = torch.relu(tokens.unsqueeze(0) @ self.w_up)
        out = h @ self.w_down
        return (out * dense.t()[..., None]).sum(0)


class GptOssBmm(DenseMoE):
    alpha = 1.702
    limit = 7.0

    def __init__(self, hidden=32, ffn=32, experts=4, k=2):
        super().__init__(hidden, ffn, experts, k, router_bias=True)
        self.gate_up_proj = self.stacked(experts, hidden, 2 * ffn)
        self.gate_up_proj_bias = nn.Parameter(torch.randn(experts, 2 * ffn) * 0.1)
        self.down_proj = self.stacked(experts, ffn, hidden)
        self.down_proj_bias = nn.Parameter(torch.randn(experts, hidden) * 0.1)

    def dense_weights(self, tokens):
        logits = self.router(tokens)
        top_v, top_i = torch.topk(logits, self.k, dim=-1)
        top_v = torch.softmax(top_v, dim=1)
        return torch.zeros_like(logits).scatter(1, top_i, top_v)

    def experts_out(self, tokens, dense):
        # Hugging Face's GptOssExperts.forward, inference branch.
        h = tokens.repeat(self.experts, 1).view(self.experts, -1, self.hidden)
        gate_up = torch.bmm(h, self.gate_up_proj) + self.gate_up_proj_bias[..., None, :]
        gate, up = gate_up[..., ::2], gate_up[..., 1::2]
        gate = gate.clamp(min=None, max=self.limit)
        up = up.clamp(min=-self.limit, max=self.limit)
        glu = gate * torch.sigmoid(gate * self.alpha)
        out = torch.bmm((up + 1) * glu, self.down_proj) + self.down_proj_bias[..., None, :]
        out = out * dense.transpose(0, 1)[..., None]
        return out.sum(dim=0)


class DeepSeekEinsum(DenseMoE):
    scaling = 2.5

    def __init__(self, hidden=32, ffn=32, experts=8, k=2):
        super().__init__(hidden, ffn, experts, k)
        self.score_bias = nn.Parameter(torch.randn(experts) * 0.1)
        self.w_gate = self.stacked(experts, hidden, ffn)
        self.w_up = self.stacked(experts, hidden, ffn)
        self.w_down = self.stacked(experts, ffn, hidden)

    def dense_weights(self, tokens):
        scores = torch.sigmoid(self.router(tokens))
        _, top_i = torch.topk(scores + self.score_bias, self.k, dim=-1)
        top_v = scores.gather(1, top_i)
        top_v = top_v / top_v.sum(dim=-1, keepdim=True) * self.scaling
        return torch.zeros_like(scores).scatter(1, top_i, top_v)

    def experts_out(self, tokens, dense):
        gate = torch.einsum("th,ehn->etn", tokens, self.w_gate)
        up = torch.einsum("th,ehn->etn", tokens, self.w_up)
        out = torch.einsum("etn,enh->eth", nn.functional.silu(gate) * up, self.w_down)
        return torch.einsum("te,eth->th", dense, out)


MODELS = {
    "mixtral_einsum": MixtralEinsum,
    "switch_bmm": SwitchBmm,
    "gptoss_bmm": GptOssBmm,
    "deepseek_einsum": DeepSeekEinsum,
}


def build(name, seed=0, **sizes):
    torch.manual_seed(seed)
    return MODELS[name](**{k: v for k, v in sizes.items() if v is not None}).eval()


def export(module, path):
    # The exporter warns about shape inference of its own constants; the graph is fine.
    warnings.filterwarnings("ignore", category=UserWarning)
    example = torch.randn(1, 2, module.hidden)
    buffer = io.BytesIO()
    torch.onnx.export(module, (example,), buffer, opset_version=OPSET,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}})
    with open(path, "wb") as f:
        f.write(buffer.getvalue())


def write_reference(module, path, seed):
    generator = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(2, 3, module.hidden, generator=generator)
    with torch.no_grad():
        y = module(x)
    np.savez(path, x=x.numpy(), y=y.numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", nargs="?")
    parser.add_argument("--model", choices=sorted(MODELS))
    parser.add_argument("--output")
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--ffn", type=int)
    parser.add_argument("--experts", type=int)
    parser.add_argument("--k", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = dict(hidden=args.hidden, ffn=args.ffn, experts=args.experts, k=args.k)
    if args.model:
        if not args.output:
            parser.error("--model needs --output")
        export(build(args.model, args.seed, **sizes), args.output)
        return
    if not args.out_dir:
        parser.error("give OUT_DIR, or --model and --output")
    os.makedirs(args.out_dir, exist_ok=True)
    for name in MODELS:
        module = build(name, args.seed, **sizes)
        export(module, os.path.join(args.out_dir, name + ".onnx"))
        write_reference(module, os.path.join(args.out_dir, name + ".npz"), args.seed)


if __name__ == "__main__":
    main()
