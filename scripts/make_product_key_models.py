#!/usr/bin/env python3
"""Exports transformers' own product-key MoE block (Doge's DogeCDMoE) in several
configurations, with reference outputs at shapes other than the traced one.

    make_product_key_models.py OUT_DIR

Run it in the export venv (/work/wt-exports/.venv-export: torch 2.15, transformers 5.23,
onnxruntime 1.32). Each model in MODELS is the block of a DogeConfig (E = n * n experts,
each one row of two embeddings, chosen by the top-k of the sums of every pair of keys of
the two halves of the router's logits, plus Doge's dense MLP) with random weights scaled
so that routing varies per token, exported by TorchScript (opset 17) and, where it
exports, by torch.export (opset 20), with a dynamic batch and sequence length.

OUT_DIR/NAME.onnx is the model; OUT_DIR/NAME.SHAPE.npz holds its input and onnxruntime's
output at each of SHAPES (checked against PyTorch's to 1e-5 relative), as
scripts/run_vs_reference.py takes them. The halves of the router's logits are a view of
all tokens' logits at once, so for more than one token a token's experts depend on other
tokens: the shapes include several batches and lengths.
"""
import argparse
import os
import sys

import numpy as np
import onnxruntime as ort
import torch
from transformers import DogeConfig
from transformers.models.doge.modeling_doge import DogeCDMoE

TRACE_SHAPE = (2, 3)
SHAPES = {"prefill": (2, 5), "decode": (1, 1), "batch3": (3, 7)}

# name: (DogeConfig keywords, exporters)
MODELS = {
    "silu_n4_k2": (dict(hidden_size=32, intermediate_size=24, num_experts=16,
                        num_experts_per_tok=2), ("torchscript", "dynamo")),
    "gelu_n8_k4_renormalized": (dict(hidden_size=48, intermediate_size=32, num_experts=64,
                                     num_experts_per_tok=4, hidden_act="gelu",
                                     norm_topk_prob=True), ("torchscript", "dynamo")),
    "relu_n5_k3": (dict(hidden_size=40, intermediate_size=16, num_experts=25,
                        num_experts_per_tok=3, hidden_act="relu"), ("torchscript",)),
}


class Block(torch.nn.Module):
    """The MoE block's output alone (it also returns the router's logits)."""

    def __init__(self, moe):
        super().__init__()
        self.moe = moe

    def forward(self, hidden_states):
        return self.moe(hidden_states)[0]


def make_block(config_kwargs, seed):
    config = DogeConfig(is_moe=True, **config_kwargs)
    block = DogeCDMoE(config).eval()
    generator = torch.Generator().manual_seed(seed)
    hidden = config.hidden_size
    with torch.no_grad():
        for name, parameter in block.named_parameters():
            scale = 3.0 if "router" in name else 1.0
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * scale /
                            np.sqrt(hidden if parameter.dim() > 1 else 1.0))
    return Block(block)


def export(block, hidden, path, exporter):
    example = torch.randn(*TRACE_SHAPE, hidden)
    dims = {0: "batch", 1: "sequence"}
    if exporter == "torchscript":
        torch.onnx.export(block, (example,), path, opset_version=17, dynamo=False,
                          input_names=["hidden_states"], output_names=["output"],
                          dynamic_axes={"hidden_states": dims, "output": dims})
    else:
        batch, sequence = torch.export.Dim("batch", min=1), torch.export.Dim("sequence", min=1)
        torch.onnx.export(block, (example,), path, opset_version=20, dynamo=True,
                          input_names=["hidden_states"], output_names=["output"],
                          dynamic_shapes={"hidden_states": {0: batch, 1: sequence}},
                          external_data=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    out_dir = parser.parse_args().out_dir
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, (config_kwargs, exporters)) in enumerate(sorted(MODELS.items())):
        block = make_block(config_kwargs, seed)
        hidden = config_kwargs["hidden_size"]
        for exporter in exporters:
            full_name = f"{name}_{exporter}"
            path = os.path.join(out_dir, full_name + ".onnx")
            try:
                export(block, hidden, path, exporter)
            except Exception as error:  # an exporter that cannot write the block is reported
                print(f"{full_name}: export failed: {type(error).__name__}: "
                      f"{str(error).splitlines()[0][:200]}", file=sys.stderr)
                continue
            session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            rng = np.random.default_rng(seed + 100)
            for label, (batch, sequence) in SHAPES.items():
                x = rng.standard_normal((batch, sequence, hidden)).astype(np.float32)
                (expected,) = session.run(None, {"hidden_states": x})
                with torch.no_grad():
                    actual = block(torch.from_numpy(x)).numpy()
                scale = np.abs(actual).max()
                if np.abs(expected - actual).max() > 1e-5 * scale:
                    sys.exit(f"{full_name}.{label}: onnxruntime differs from PyTorch")
                np.savez(os.path.join(out_dir, f"{full_name}.{label}.npz"), hidden_states=x,
                         output=expected)
            print(f"{full_name}: written")


if __name__ == "__main__":
    main()
