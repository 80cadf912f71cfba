#!/usr/bin/env python3
"""Exports a 1-layer Mixtral causal LM at a chosen width, as the real-export fixtures do.

    .venv-export/bin/python scripts/real_exports/make_wide_causallm.py OUT.onnx
        [--hidden 1024] [--heads 8] [--kv-heads 2] [--ffn 2816] [--experts 8] [--k 2]
        [--vocab 4096]

The fixtures of make_fixtures.py are 32 wide; benchmarks/whole_models.py needs the same
export at a Mixtral-like width. transformers' MixtralForCausalLM (1 layer, random weights
as make_fixtures.py's `reinit` sets them: routing varies per token) with the `batched_mm`
experts, `input_ids` [batch, seq] -> `logits`, exported by torch.onnx.export(dynamo=True)
at opset 20 with dynamic batch and sequence (the `causallm-torch-dynamo-op20-batched_mm`
fixture), weights inline.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--kv-heads", type=int, default=2)
    parser.add_argument("--ffn", type=int, default=2816)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=4096)
    args = parser.parse_args()

    import torch
    import transformers
    config = transformers.MixtralConfig(
        hidden_size=args.hidden, intermediate_size=args.ffn, num_hidden_layers=1,
        num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        head_dim=args.hidden // args.heads, num_local_experts=args.experts,
        num_experts_per_tok=args.k, vocab_size=args.vocab, max_position_embeddings=4096,
        use_cache=False)
    torch.manual_seed(0)
    model = transformers.MixtralForCausalLM(config).eval()
    make_fixtures.reinit(model, config)
    make_fixtures.set_impl(model, "batched_mm")
    lm = make_fixtures.lm_module(model, "causallm")
    ids = torch.randint(0, args.vocab, make_fixtures.TRACE["causallm"])
    make_fixtures.export_torch(lm, (ids,), ["input_ids"], ["logits"],
                               {"input_ids": {0: "batch", 1: "seq"}}, 20, True, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
