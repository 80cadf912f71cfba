#!/usr/bin/env python3
"""Whole CausalLMs with two MoE decoder layers, for "every MoE layer of a model raises".

make_fixtures.py exports one-layer models; this script builds the same tiny configs with two
decoder layers, both MoE (Mixtral, Qwen2-MoE with its gated shared expert), exports each with
torch.export (opset 20) and TorchScript (opset 17, all-ones attention mask), checks the export
against torch eager in onnxruntime at the reference sizes, and adds the committed fixtures to
test/models/real-exports/manifest.json as `<arch>/causallm-<exporter>-op<N>-batched_mm-2layers`
(`moe_layers_expected: 2`). Needs the export environment (scripts/real_exports/setup_venv.sh);
survey.py and the real-exports tests then treat them like the others.
"""
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402

ARCHS = ("mixtral", "qwen2_moe")
LAYERS = 2


def main():
    import torch
    for key in ("num_hidden_layers", "num_layers", "n_layers", "num_decoder_layers"):
        mf.COMMON[key] = LAYERS
    manifest_path = mf.OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    fixtures = [f for f in manifest["fixtures"] if not f["id"].endswith(f"-{LAYERS}layers")]
    for arch in ARCHS:
        # make_config sizes the per-layer lists for one layer: here every layer is a full
        # attention layer (and, with decoder_sparse_step 1, an MoE layer)
        extra = dict(mf.ARCHS[arch].get("extra", {}), layer_types=["full_attention"] * LAYERS)
        mf.ARCHS[arch] = dict(mf.ARCHS[arch], extra=extra)
        model, cfg = mf.build_model(arch)
        assert cfg.num_hidden_layers == LAYERS
        mf.set_impl(model, "batched_mm")
        hidden = cfg.hidden_size
        mf.HEAD_DIM[0] = getattr(cfg, "head_dim", None) or hidden // cfg.num_attention_heads
        example = [torch.from_numpy(v) for v in
                   mf.make_input("causallm", mf.TRACE["causallm"], hidden, 5).values()]
        arch_dir = mf.OUT / arch
        tmp = Path(tempfile.mkdtemp(prefix=f"rx-{arch}-{LAYERS}layers-"))
        for dynamo, opset in ((True, 20), (False, 17)):
            module = mf.lm_module(model, "causallm", ones_mask=not dynamo)
            exporter = "torch-dynamo" if dynamo else "torch-script"
            variant = f"causallm-{exporter}-op{opset}-batched_mm-{LAYERS}layers"
            entry = {"id": f"{arch}/{variant}", "arch": arch, "kind": "causallm",
                     "exporter": exporter, "opset": opset, "experts_impl": "batched_mm",
                     "trace_dims": list(mf.TRACE["causallm"]), "model_class": type(model).__name__,
                     "decoder_layers": LAYERS, "moe_layers_expected": LAYERS}
            mf.run_one(entry, arch_dir, variant, tmp, "causallm", hidden, module,
                       lambda p: mf.export_torch(module, example, ["input_ids"], ["logits"],
                                                 {"input_ids": {0: "batch", 1: "seq"}}, opset,
                                                 dynamo, p))
            print(f"{entry['id']}: {entry['status']} {entry.get('error', '')}", flush=True)
            fixtures.append(entry)
    manifest["fixtures"] = fixtures
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
