#!/usr/bin/env python3
"""Real-export fixtures for issue 14 ("Real exports compile") and 15 ("Real exports raise").

Builds tiny random-weight models from transformers 5's own config classes, for every
Mixture-of-Experts architecture transformers has, and exports them as a user would:

  * torch.onnx.export(dynamo=True) and (dynamo=False) at opsets 17 and 20, with dynamic
    batch/seq (or tokens) axes, for (a) the sparse MoE block alone and (b) the 1-layer
    *ForCausalLM (input_ids -> logits, use_cache=False), once per experts implementation
    (`eager`, `batched_mm`; `grouped_mm` is tried and its failure recorded);
  * transformers' own exporter (transformers.exporters.OnnxExporter) without and with
    onnxruntime fusions ("cpu", and "cuda", which writes com.microsoft::MoE);
  * onnxruntime-genai's model builder (fp32, CPU) for the MoE architectures it supports,
    from the tiny model saved with save_pretrained (no hub access).

Each export that runs in onnxruntime and agrees with torch eager at two input sizes other
than the traced one is written to test/models/real-exports/<arch>/<variant>.onnx (weights
inline), with its inputs and the onnxruntime and torch outputs as .npy files beside it.
Every attempt, failed or not, gets an entry in test/models/real-exports/manifest.json.

Run with the export toolchain (scripts/real_exports/setup_venv.sh):

  .venv-export/bin/python scripts/real_exports/make_fixtures.py [--arch mixtral ...]

Re-running for some architectures replaces only their manifest entries.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "models" / "real-exports"
MANIFEST = OUT / "manifest.json"

# Agreement threshold between onnxruntime and torch eager (max |ort - torch| / max |torch|).
REL_TOL = 1e-4
# Fixtures larger than this are recorded but not committed.
MAX_BYTES = 400_000
# Models with more parameters than this are not built (see build_model).
MAX_PARAMS = 2_000_000

HIDDEN = 32
VOCAB = 128
EXPERTS = 4
TOP_K = 2
MOE_INTER = 16

TRACE = {"block3": (2, 5), "block2": (5,), "causallm": (2, 5), "encoder": (2, 5)}
REFS = {"block3": [(1, 3), (2, 7)], "block2": [(3,), (7,)],
        "causallm": [(1, 3), (2, 6)], "encoder": [(1, 3), (2, 6)]}

# Config values shared by all architectures; only keys the config class knows are set.
COMMON = dict(
    hidden_size=HIDDEN, d_model=HIDDEN, n_embd=HIDDEN,
    intermediate_size=MOE_INTER, ffn_hidden_size=MOE_INTER, d_ff=MOE_INTER, ffn_dim=MOE_INTER,
    moe_intermediate_size=MOE_INTER, expert_intermediate_size=MOE_INTER,
    shared_expert_intermediate_size=MOE_INTER, moe_shared_expert_intermediate_size=MOE_INTER,
    num_hidden_layers=1, num_layers=1, n_layers=1, num_decoder_layers=1, num_sparse_decoder_layers=1,
    num_sparse_encoder_layers=1, encoder_sparse_step=1, decoder_sparse_step=1,
    num_attention_heads=4, num_heads=4, n_heads=4, num_key_value_heads=2, head_dim=8,
    kv_channels=8, d_kv=8,
    vocab_size=VOCAB, max_position_embeddings=128, n_positions=128,
    num_local_experts=EXPERTS, num_experts=EXPERTS, n_routed_experts=EXPERTS, moe_num_experts=EXPERTS,
    num_experts_per_tok=TOP_K, moe_top_k=TOP_K, top_k=TOP_K, moe_k=TOP_K,
    n_shared_experts=1, num_shared_experts=1, moe_num_shared_experts=1,
    first_k_dense_replace=0, mlp_only_layers=[], num_dense_layers=0,
    moe_layer_freq=1, moe_layer_start_index=0, interleave_moe_layer_step=1,
    n_group=2, topk_group=1, num_expert_group=2, topk_group_count=1,
    q_lora_rank=16, kv_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=8,
    tie_word_embeddings=False, use_cache=False, pad_token_id=0, bos_token_id=1, eos_token_id=2,
    decoder_start_token_id=0, router_jitter_noise=0.0, router_aux_loss_coef=0.0,
    attention_dropout=0.0, hidden_dropout=0.0, dropout_rate=0.0,
)

# Architectures: model_type -> extra config values. "tier": "full" gets the whole matrix,
# "reduced" (architectures not named in issue 14) a smaller one to keep the CPU time down: torch
# dynamo at opset 20 and TorchScript at 17, batched_mm only (eager where the experts implementation
# is not selectable), transformers' exporter with its default (grouped_mm), no fusions.
ARCHS: dict[str, dict] = {
    "mixtral": dict(tier="full"),
    "qwen2_moe": dict(tier="full", extra=dict(shared_expert_intermediate_size=MOE_INTER)),
    "qwen3_moe": dict(tier="full"),
    "qwen3_next": dict(tier="full", extra=dict(layer_types=["full_attention"], linear_num_value_heads=2,
                                              linear_num_key_heads=2, linear_key_head_dim=8,
                                              linear_value_head_dim=8)),
    "deepseek_v3": dict(tier="full", extra=dict(rope_interleave=True)),
    # onnxruntime's CPU GroupQueryAttention (genai builder) takes head sizes that are multiples of 16
    "gpt_oss": dict(tier="full", extra=dict(layer_types=["full_attention"], head_dim=16)),
    "olmoe": dict(tier="full"),
    "phimoe": dict(tier="full"),
    "granitemoe": dict(tier="full"),
    "llama4": dict(tier="full", text=True, extra=dict(no_rope_layers=[1], moe_layers=[0],
                                                      intermediate_size_mlp=32,
                                                      intermediate_size=MOE_INTER)),
    "switch_transformers": dict(tier="full", kinds=("block", "encoder"),
                                extra=dict(num_layers=1, num_decoder_layers=1, encoder_sparse_step=1,
                                           decoder_sparse_step=1, num_sparse_encoder_layers=1,
                                           num_sparse_decoder_layers=1, expert_capacity=64)),
    "jetmoe": dict(tier="full", extra=dict(kv_channels=8)),
    # transformers 5.23's DbrxAttention reads attn_config.rope_theta, which DbrxAttentionConfig lacks
    "dbrx": dict(tier="full", extra=dict(ffn_config=dict(hidden_size=HIDDEN, ffn_hidden_size=MOE_INTER,
                                                         moe_num_experts=EXPERTS, moe_top_k=TOP_K),
                                         attn_config=dict(kv_n_heads=2, clip_qkv=8.0, rope_theta=10000.0))),
    # supported by onnxruntime-genai's builder as MoE
    "lfm2_moe": dict(tier="full", extra=dict(layer_types=["full_attention"], num_dense_layers=0,
                                             num_attention_heads=2, num_key_value_heads=1)),
    "qwen3_5_moe": dict(tier="full", text=True, extra=dict(layer_types=["full_attention"], head_dim=16)),
    # the one layer is the MoE block (its attention layers are others)
    "nemotron_h": dict(tier="reduced", extra=dict(layer_types=["moe"])),
    # the tiny config's layer is a dense MLP; is_moe makes it the CDMoE (product-key experts,
    # 4 x 4 keys)
    "doge": dict(tier="reduced", extra=dict(is_moe=True, num_experts=16, num_experts_per_tok=TOP_K)),
    # its num_hidden_layers is 2 * num_layers (two attention sublayers per layer, one MoE), so one layer
    # is num_hidden_layers=2; two zero (identity) experts beside the routed ones instead of 256
    "longcat_flash": dict(tier="reduced", extra=dict(num_hidden_layers=2, zero_expert_num=2)),
}
REDUCED = ["afmoe", "axk1", "axk2", "bailing_hybrid", "beam", "cohere2_moe", "deepseek_v2", "deepseek_v32",
           "deepseek_v4", "doge", "dots1", "dots3_note", "ernie4_5_moe", "exaone_moe", "flex_olmo", "flint",
           "glm4_moe", "glm4_moe_lite", "glm_moe_dsa", "granitemoe_swa", "granitemoehybrid", "granitemoeshared",
           "hunyuan_v1_moe", "hy_v3", "hy_v4", "jamba", "kimi_linear", "kolibri1", "laguna", "longcat_flash",
           "mellum", "mimo_v2_flash", "minimax", "minimax_m2", "nemotron_h", "qwen4_exp", "solar_open", "zaya"]
for _a in REDUCED:
    ARCHS.setdefault(_a, dict(tier="reduced"))

SLIDING = [0]  # its sliding window
HEAD_DIM = [8]  # of the architecture being exported (onnxruntime-genai's past KV inputs)

GENAI_ARCHS = {"gpt_oss", "lfm2_moe", "qwen3_5_moe"}


def first_line(e: BaseException) -> str:
    """The first line of the error; for torch.onnx's wrapper errors, of the error that caused it."""
    chain = [e]
    while chain[-1].__cause__ is not None or (chain[-1].__context__ is not None and not chain[-1].__suppress_context__):
        nxt = chain[-1].__cause__ or chain[-1].__context__
        if nxt in chain:
            break
        chain.append(nxt)
    root = chain[-1]
    def one(x):
        s = f"{type(x).__name__}: {x}".strip()
        s = s.replace("\x1b[96m", "").replace("\x1b[0m", "").replace("\x1b[1m", "")
        lines = [l for l in s.splitlines() if l.strip()]
        return lines[0][:300] if lines else type(x).__name__
    if root is e:
        return one(e)
    return f"{one(root)} [via {type(e).__name__}]"


# ---------------------------------------------------------------------------------------------
# models

def make_config(arch: str):
    import transformers
    from transformers import AutoConfig
    spec = ARCHS[arch]
    cls = transformers.models.auto.configuration_auto.CONFIG_MAPPING[arch]
    if spec.get("text") and hasattr(cls, "sub_configs") and "text_config" in cls.sub_configs:
        cls = cls.sub_configs["text_config"]
    default = cls()
    values = {k: v for k, v in COMMON.items() if k in default.to_dict() or hasattr(default, k)}
    values.update(spec.get("extra", {}))
    if "qk_rope_head_dim" in values and "head_dim" in values:
        # multi-head latent attention: the rotary embedding's head_dim is the rope part of the head
        values["head_dim"] = values["qk_rope_head_dim"]
        values["num_key_value_heads"] = values.get("num_attention_heads", 4)
    # per-layer lists sized for one layer
    for key in ("layer_types", "mlp_layer_types", "moe_layer_types"):
        if key in values:
            continue
        v = getattr(default, key, None)
        if isinstance(v, list) and v:
            if "mlp" in key or "moe" in key:  # the one layer is an MoE layer
                pick = ([t for t in v if str(t) in ("moe", "sparse")] or [t for t in v if "moe" in str(t)
                        or "sparse" in str(t)] or v)
            else:
                pick = [t for t in v if "full" in str(t) or "attention" == str(t)] or v
            values[key] = [pick[0]]
    cfg = cls(**values)
    for k in ("use_cache",):
        if hasattr(cfg, k):
            setattr(cfg, k, False)
    return cfg


def build_model(arch: str, seed: int = 0):
    import torch
    import transformers
    cfg = make_config(arch)
    torch.manual_seed(seed)
    spec = ARCHS[arch]
    # count the parameters on the meta device first: a config whose other parts keep their full-size
    # defaults (a vision tower, say) would take all the memory of the machine
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from transformers import AutoModelForCausalLM
        meta = (transformers.SwitchTransformersEncoderModel(cfg) if arch == "switch_transformers"
                else AutoModelForCausalLM.from_config(cfg))
        n = sum(p.numel() for p in meta.parameters())
        del meta
    if n > MAX_PARAMS:
        raise RuntimeError(f"the tiny config still has {n / 1e6:.0f}M parameters (> {MAX_PARAMS / 1e6:.0f}M): "
                           "some part keeps its full-size default")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if arch == "switch_transformers":
            model = transformers.SwitchTransformersEncoderModel(cfg)
        elif spec.get("text"):
            from transformers import AutoModelForCausalLM
            model = AutoModelForCausalLM.from_config(cfg)
        else:
            from transformers import AutoModelForCausalLM
            model = AutoModelForCausalLM.from_config(cfg)
    model.eval()
    reinit(model, cfg)
    return model, cfg


def find_moe_block(model):
    """The sparse MoE module: the parent of the first `experts` child (or of a *Experts module)."""
    for name, mod in model.named_modules():
        for cname, child in mod.named_children():
            if cname == "experts" or (type(child).__name__.endswith("Experts") and "Shared" not in type(child).__name__):
                return name, mod
    return None, None


def num_experts_of(cfg):
    for k in ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts"):
        v = getattr(cfg, k, None)
        if isinstance(v, int) and v > 1:
            return v
    ffn = getattr(cfg, "ffn_config", None)
    if ffn is not None and getattr(ffn, "moe_num_experts", None):
        return ffn.moe_num_experts
    return EXPERTS


def router_width(cfg):
    """How many experts the router scores: with LongCat-Flash's zero (identity) experts, more than the
    experts with weights."""
    return num_experts_of(cfg) + (getattr(cfg, "zero_expert_num", 0) or 0)


def reinit(model, cfg):
    """Random weights with O(1) activations; router weights scaled so routing varies per token."""
    import torch
    g = torch.Generator().manual_seed(1234)
    E = num_experts_of(cfg)
    routed = router_width(cfg)
    bname, block = find_moe_block(model)
    router_params = set()
    if block is not None:
        for pname, p in block.named_parameters():
            if "expert" in pname and "gate" not in pname.split(".")[-1] and "router" not in pname:
                continue
            if p.dim() == 2 and p.shape[0] == routed and not pname.startswith("experts."):
                router_params.add(f"{bname}.{pname}" if bname else pname)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.dtype.is_floating_point:
                continue
            low = name.lower()
            if p.dim() == 1:
                if "norm" in low or "ln" in low.split(".")[-2:][0] or low.endswith("layernorm.weight"):
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
                elif "bias" in low and ("correction" in low or "e_score" in low):
                    p.copy_(0.5 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                continue
            if p.dim() == 0:
                continue
            if "embed" in low or "wte" in low or "shared.weight" in low:
                p.copy_(torch.randn(p.shape, generator=g))
                continue
            fan_in = min(p.shape[-1], p.shape[-2]) if p.dim() >= 3 else p.shape[-1]
            std = 1.0 / np.sqrt(max(fan_in, 1))
            if name in router_params:
                std *= 4.0
            p.copy_(std * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if b.dtype.is_floating_point and ("e_score_correction" in name or "expert_bias" in name):
                b.copy_(0.5 * torch.randn(b.shape, generator=g))
    model._router_params = sorted(router_params)


def set_impl(model, impl):
    if impl is None:
        return
    model.set_experts_implementation(impl)


def supports_impls(model) -> bool:
    try:
        return bool(model._can_set_experts_implementation())
    except Exception:
        return False


class BlockWrapper:
    pass


def block_module(model):
    import torch

    name, block = find_moe_block(model)
    if block is None:
        raise RuntimeError("no MoE block found")

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = block

        def forward(self, hidden_states):
            out = self.block(hidden_states)
            while isinstance(out, (tuple, list)):
                out = out[0]
            return out

    return name, Block().eval()


class _LM:
    pass


def lm_module(model, kind, ones_mask=False):
    import torch

    class LM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids):
            if kind == "encoder":
                return self.model(input_ids=input_ids, return_dict=True).last_hidden_state
            if ones_mask:
                return self.model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), use_cache=False,
                                  return_dict=True).logits
            return self.model(input_ids=input_ids, use_cache=False, return_dict=True).logits

    return LM().eval()


def block_rank(block, hidden):
    """Whether the block takes [batch, seq, hidden] (3) or [tokens, hidden] (2)."""
    import torch
    with torch.no_grad():
        try:
            block(torch.randn(2, 5, hidden))
            return 3
        except Exception:
            block(torch.randn(5, hidden))
            return 2


def make_input(kind_shape: str, dims, hidden, seed):
    rng = np.random.default_rng(seed)
    if kind_shape.startswith("block"):
        return {"hidden_states": rng.standard_normal((*dims, hidden)).astype(np.float32)}
    return {"input_ids": rng.integers(3, VOCAB, size=dims).astype(np.int64)}


def torch_run(module, feeds):
    import torch
    with torch.no_grad():
        out = module(*[torch.from_numpy(v) for v in feeds.values()])
    return [out.detach().float().numpy()]


def routing_varies(model, cfg, block, x):
    """How many distinct top-1 experts the router picks over the tokens of x (block input)."""
    import torch
    E = router_width(cfg)
    counts = set()
    logits = []

    def hook(mod, inp, out):
        o = out[0] if isinstance(out, (tuple, list)) else out
        if torch.is_tensor(o) and o.shape[-1] == E:
            logits.append(o.detach())

    hs = []
    for name, m in block.named_modules():
        if name and name.split(".")[-1] in ("gate", "router", "switch", "router_gate") and name.count(".") <= 1:
            hs.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            block(torch.from_numpy(x))
    finally:
        for h in hs:
            h.remove()
    for l in logits:
        counts |= set(l.reshape(-1, E).argmax(-1).tolist())
    return len(counts) if logits else None


# ---------------------------------------------------------------------------------------------
# exports

def export_torch(module, example, input_names, output_names, dyn_axes, opset, dynamo, path):
    import torch
    kwargs = dict(input_names=input_names, output_names=output_names, opset_version=opset)
    if dynamo:
        from torch.export import Dim
        shapes = {}
        for n, axes in dyn_axes.items():
            shapes[n] = {ax: Dim(dn, min=1, max=4096) for ax, dn in axes.items()}
        prog = torch.onnx.export(module, tuple(example), dynamo=True, dynamic_shapes=tuple(shapes.values()),
                                 **kwargs)
        prog.save(str(path), external_data=False)
    else:
        torch.onnx.export(module, tuple(example), str(path), dynamo=False, dynamic_axes=dict(dyn_axes),
                          do_constant_folding=True, **kwargs)


def export_hf(model, example_ids, fusions, path):
    import onnx_ir
    import torch
    from transformers.exporters.configs import OnnxConfig
    from transformers.exporters.exporter_onnx import OnnxExporter
    exporter = OnnxExporter()
    cfg = OnnxConfig(dynamic=True, ort_fusions=fusions)
    exported = exporter.export(model, {"input_ids": torch.from_numpy(example_ids)}, config=cfg)
    prog = exported.program if hasattr(exported, "program") else exported
    onnx_ir.save(prog, str(path))


def save_tiny_tokenizer(path):
    """A word-level tokenizer over the tiny vocabulary: the builder copies a tokenizer beside the model."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, **{f"t{i}": i for i in range(3, VOCAB)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<pad>")
    fast.save_pretrained(path)


def genai_build(model, arch, path, workdir, precision="fp32", extra_options=()):
    """onnxruntime-genai's builder for the CPU (fp32, or `precision`, with the builder's
    `extra_options` KEY=VALUE), from the tiny model saved locally."""
    src = Path(workdir) / "hf"
    out = Path(workdir) / "genai"
    cache = Path(workdir) / "cache"
    model.save_pretrained(src, safe_serialization=True)
    save_tiny_tokenizer(src)
    cmd = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(src), "-o", str(out),
           "-p", precision, "-e", "cpu", "-c", str(cache)]
    if extra_options:
        cmd += ["--extra_options", *extra_options]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=workdir)
    onnx_files = sorted(out.glob("*.onnx"))
    if not onnx_files:
        tail = [l for l in (r.stderr + r.stdout).splitlines() if l.strip()]
        errs = [l for l in tail if "Error" in l or "error" in l]
        raise RuntimeError((errs[-1] if errs else (tail[-1] if tail else f"builder exit {r.returncode}"))[:400])
    import onnx
    m = onnx.load(str(onnx_files[0]), load_external_data=True)
    onnx.save(m, str(path), save_as_external_data=False)
    return r


# ---------------------------------------------------------------------------------------------
# checking

def io_of(path):
    import onnx
    m = onnx.load(str(path), load_external_data=False)
    init = {i.name for i in m.graph.initializer}

    def desc(v):
        t = v.type.tensor_type
        dims = [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?")
                for d in t.shape.dim] if t.HasField("shape") else None
        return {"name": v.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
                if t.elem_type else "?", "shape": dims}

    ins = [desc(v) for v in m.graph.input if v.name not in init]
    outs = [desc(v) for v in m.graph.output]
    opsets = {(o.domain or "ai.onnx"): o.version for o in m.opset_import}
    ops = sorted({(n.domain + "::" if n.domain else "") + n.op_type for n in m.graph.node})
    return m, ins, outs, opsets, ops


def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def feeds_for(ins, kind, dims, hidden, seed, past_len=0):
    """Inputs for each graph input; onnxruntime-genai's models also take a mask, positions and past KV."""
    base = make_input(kind, dims, hidden, seed)
    feeds = {}
    b = dims[0]
    s = dims[1] if len(dims) > 1 else dims[0]
    for d in ins:
        n = d["name"]
        if n in base:
            feeds[n] = base[n]
        elif n == "attention_mask":
            feeds[n] = np.ones((b, s + past_len), dtype=np.dtype(d["dtype"]))
        elif n == "position_ids":
            feeds[n] = np.tile(np.arange(past_len, past_len + s, dtype=np.dtype(d["dtype"])), (b, 1))
        elif n.startswith("past_") or "past" in n:
            shape = []
            for i, x in enumerate(d["shape"]):
                if isinstance(x, int) and x > 0:
                    shape.append(x)
                elif i == 0:
                    shape.append(b)
                elif i == len(d["shape"]) - 1:
                    shape.append(HEAD_DIM[0])
                elif "sliding" in str(x):
                    # onnxruntime-genai's sliding-window cache: a buffer of the window's capacity
                    shape.append(SLIDING[0])
                else:
                    shape.append(past_len)
            feeds[n] = np.zeros(shape, dtype=np.dtype(d["dtype"]))
        elif len(base) == 1:
            feeds[n] = next(iter(base.values()))
        else:
            raise RuntimeError(f"no data for input {n}")
    return feeds


def rel_err(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf"), float("inf")
    if a.size == 0:
        return 0.0, 0.0
    d = np.abs(a - b)
    m = float(np.abs(b).max())
    return float(d.max()), float(d.max() / m) if m > 0 else float(d.max())


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr))


def check_and_store(entry, path, torch_module, kind_shape, hidden, arch_dir, variant, store=True):
    """Runs the export in onnxruntime and torch eager at the reference sizes; writes the .npy files."""
    m, ins, outs, opsets, ops = io_of(path)
    entry["inputs"] = ins
    entry["outputs"] = outs
    entry["opset_imports"] = opsets
    entry["op_types"] = ops
    entry["size_bytes"] = path.stat().st_size
    sess = ort_session(path)
    ort_out_names = [o.name for o in sess.get_outputs()]
    refs = []
    worst = 0.0
    worst_abs = 0.0
    for i, dims in enumerate(REFS[kind_shape]):
        feeds = feeds_for(ins, kind_shape, dims, hidden, seed=100 + i)
        ort_outs = sess.run(None, feeds)
        main = {k: v for k, v in feeds.items() if k in ("hidden_states", "input_ids")}
        t_outs = torch_run(torch_module, main)
        a, r = rel_err(ort_outs[0], t_outs[0])
        worst = max(worst, r)
        worst_abs = max(worst_abs, a)
        ref = {"dims": list(dims), "inputs": {}, "ort": {}, "torch": {}}
        if store:
            for n, v in feeds.items():
                f = f"{variant}.s{i}.in.{safe(n)}.npy"
                save_npy(arch_dir / f, v)
                ref["inputs"][n] = f
            for n, v in zip(ort_out_names, ort_outs):
                f = f"{variant}.s{i}.ort.{safe(n)}.npy"
                save_npy(arch_dir / f, v)
                ref["ort"][n] = f
            f = f"{variant}.s{i}.torch.{safe(ort_out_names[0])}.npy"
            save_npy(arch_dir / f, t_outs[0])
            ref["torch"][ort_out_names[0]] = f
        refs.append(ref)
    entry["refs"] = refs
    entry["ort_vs_torch_max_abs"] = worst_abs
    entry["ort_vs_torch_max_rel"] = worst
    entry["agrees"] = bool(worst <= REL_TOL)
    return entry


def safe(n):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in n)


# ---------------------------------------------------------------------------------------------

def matrix(arch):
    tier = ARCHS[arch]["tier"]
    if tier == "full":
        return [(dyn, op) for dyn in (True, False) for op in (17, 20)], ["eager", "batched_mm", "grouped_mm"]
    return [(True, 20), (False, 17)], ["batched_mm"]


def run_arch(arch, manifest, args):
    import torch
    arch_dir = OUT / arch
    tmp = Path(tempfile.mkdtemp(prefix=f"rx-{arch}-"))
    entries = []

    def record(e):
        e.setdefault("arch", arch)
        entries.append(e)
        status = e["status"]
        print(f"  RX {e['id']:55s} {status:10s} {e.get('ort_vs_torch_max_rel', '')!s:24.24s} {e.get('error', '')[:150]}",
              flush=True)

    try:
        model, cfg = build_model(arch)
    except Exception as ex:
        record({"id": f"{arch}/model", "kind": "model", "exporter": None, "status": "model-failed",
                "error": first_line(ex)})
        return entries
    hidden = cfg.hidden_size if hasattr(cfg, "hidden_size") else cfg.d_model
    heads = getattr(cfg, "num_attention_heads", 4) or 4
    HEAD_DIM[0] = getattr(cfg, "head_dim", None) or hidden // heads
    SLIDING[0] = getattr(cfg, "sliding_window", None) or 0
    combos, impls = matrix(arch)
    has_impls = supports_impls(model)
    if not has_impls:
        impls = [None]
    kinds = ARCHS[arch].get("kinds", ("block", "causallm"))
    if args.kinds:
        kinds = [k for k in kinds if k in args.kinds]
    arch_dir.mkdir(parents=True, exist_ok=True)
    bname, bmod = find_moe_block(model)
    info = {"model_class": type(model).__name__, "moe_block": bname, "moe_block_class": type(bmod).__name__
            if bmod is not None else None, "router_params": getattr(model, "_router_params", []),
            "experts_impls_selectable": has_impls}
    for kind in kinds:
        for impl in impls:
            if impl is not None:
                try:
                    set_impl(model, impl)
                except Exception as ex:
                    record({"id": f"{arch}/{kind}-{impl}", "kind": kind, "exporter": None, "experts_impl": impl,
                            "status": "impl-failed", "error": first_line(ex)})
                    continue
            if kind == "block":
                try:
                    _, module = block_module(model)
                    rank = block_rank(module, hidden)
                except Exception as ex:
                    record({"id": f"{arch}/block-{impl}", "kind": kind, "exporter": None, "experts_impl": impl,
                            "status": "model-failed", "error": first_line(ex)})
                    continue
                kind_shape = f"block{rank}"
                in_names, out_names = ["hidden_states"], ["output"]
                dyn = {"hidden_states": {0: "batch", 1: "seq"}} if rank == 3 else {"hidden_states": {0: "tokens"}}
                rv = routing_varies(model, cfg, module, make_input(kind_shape, REFS[kind_shape][1], hidden, 7)
                                    ["hidden_states"])
            else:
                module = lm_module(model, kind)
                kind_shape = kind
                in_names = ["input_ids"]
                out_names = ["last_hidden_state" if kind == "encoder" else "logits"]
                dyn = {"input_ids": {0: "batch", 1: "seq"}}
                rv = None
            example = [torch.from_numpy(v) for v in make_input(kind_shape, TRACE[kind_shape], hidden, 5).values()]
            for dynamo, opset in combos:
                exporter = "torch-dynamo" if dynamo else "torch-script"
                variant = f"{kind}-{exporter}-op{opset}" + (f"-{impl}" if impl else "")
                e = {"id": f"{arch}/{variant}", "kind": kind, "exporter": exporter, "opset": opset,
                     "experts_impl": impl or "n/a", "trace_dims": list(TRACE[kind_shape]), **info}
                if rv is not None:
                    e["routing_distinct_top1_experts"] = rv
                if args.skip_existing and (arch_dir / f"{variant}.onnx").exists():
                    continue
                run_one(e, arch_dir, variant, tmp, kind_shape, hidden, module,
                        lambda p: export_torch(module, example, in_names, out_names, dyn, opset, dynamo, p))
                record(e)
                if kind == "causallm" and e["status"] == "export-failed" and "aten::diff" in e.get("error", ""):
                    # transformers' packed-sequence check (torch.diff) runs only without an attention
                    # mask: the same model, given an all-ones mask made inside the graph
                    masked = lm_module(model, kind, ones_mask=True)
                    variant += "-onesmask"
                    e = {**e, "id": f"{arch}/{variant}", "workaround": "attention_mask=ones_like(input_ids) "
                         "inside the traced module (avoids aten::diff of the packed-sequence check)"}
                    for k in ("status", "error", "traceback_tail"):
                        e.pop(k, None)
                    run_one(e, arch_dir, variant, tmp, kind_shape, hidden, masked,
                            lambda p: export_torch(masked, example, in_names, out_names, dyn, opset, dynamo, p))
                    record(e)
        if impls != [None]:
            set_impl(model, "eager")
    # transformers' own exporter, onnxruntime-genai's builder: whole model only
    if "causallm" in kinds and not args.no_hf:
        lm = lm_module(model, "causallm")
        ids = make_input("causallm", TRACE["causallm"], hidden, 5)["input_ids"]
        # without fusions: every experts implementation; with ORT's CPU fusions: batched_mm;
        # with its CUDA fusions the exporter itself picks batched_mm (fused to com.microsoft::MoE)
        if ARCHS[arch]["tier"] == "full":
            hf_runs = [(None, i) for i in (impls if has_impls else [None])]
            hf_runs += [("cpu", "batched_mm" if has_impls else None), ("cuda", "batched_mm" if has_impls else None)]
        else:  # transformers' default experts implementation (grouped_mm)
            hf_runs = [(None, "grouped_mm" if has_impls else None)]
        for fusions, impl in hf_runs:
            exporter = "hf-onnx" + (f"-ort-{fusions}" if fusions else "")
            variant = f"causallm-{exporter}" + (f"-{impl}" if impl else "")
            e = {"id": f"{arch}/{variant}", "kind": "causallm", "exporter": exporter, "opset": "default",
                 "experts_impl": impl or "n/a", "trace_dims": list(TRACE["causallm"]), **info}
            if impl:
                set_impl(model, impl)
            run_one(e, arch_dir, variant, tmp, "causallm", hidden, lm, lambda p: export_hf(model, ids, fusions, p))
            record(e)
        if has_impls:
            set_impl(model, "eager")
    if arch in GENAI_ARCHS and "causallm" in kinds and not args.no_genai:
        lm = lm_module(model, "causallm")
        variant = "causallm-genai-builder-fp32"
        e = {"id": f"{arch}/{variant}", "kind": "causallm", "exporter": "genai-builder", "opset": "default",
             "experts_impl": "n/a", "trace_dims": None, **info}
        if has_impls:
            set_impl(model, "eager")
        run_one(e, arch_dir, variant, tmp, "causallm", hidden, lm,
                lambda p: genai_build(model, arch, p, tempfile.mkdtemp(dir=tmp)))
        record(e)
    shutil.rmtree(tmp, ignore_errors=True)
    if not any(arch_dir.iterdir()):
        arch_dir.rmdir()
    return entries


def strip_metadata(path):
    """Drops node doc strings and metadata (dynamo writes each node's Python stack trace): size only."""
    import onnx
    m = onnx.load(str(path), load_external_data=True)
    def clean(g):
        g.doc_string = ""
        for n in g.node:
            n.doc_string = ""
            del n.metadata_props[:]
            for a in n.attribute:
                if a.HasField("g"):
                    clean(a.g)
                for sg in a.graphs:
                    clean(sg)
        for v in list(g.value_info) + list(g.input) + list(g.output):
            del v.metadata_props[:]
        for t in g.initializer:
            del t.metadata_props[:]
    clean(m.graph)
    for f in m.functions:
        for n in f.node:
            n.doc_string = ""
            del n.metadata_props[:]
    onnx.save(m, str(path), save_as_external_data=False)


def run_one(e, arch_dir, variant, tmp, kind_shape, hidden, torch_module, do_export):
    path = tmp / f"{variant}.onnx"
    t0 = time.time()
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            do_export(path)
        e["export_seconds"] = round(time.time() - t0, 1)
    except Exception as ex:
        e["export_seconds"] = round(time.time() - t0, 1)
        e["status"] = "export-failed"
        e["error"] = first_line(ex)
        log = Path(tempfile.gettempdir()) / "rx-logs" / (e["id"].replace("/", "__") + ".txt")
        log.parent.mkdir(exist_ok=True)
        log.write_text(traceback.format_exc())
        return
    strip_metadata(path)
    try:
        check_and_store(e, path, torch_module, kind_shape, hidden, tmp, variant, store=True)
    except Exception as ex:
        e["status"] = "ort-failed"
        e["error"] = first_line(ex)
        log = Path(tempfile.gettempdir()) / "rx-logs" / (e["id"].replace("/", "__") + ".txt")
        log.parent.mkdir(exist_ok=True)
        log.write_text(traceback.format_exc())
        with contextlib.suppress(Exception):
            e.setdefault("size_bytes", path.stat().st_size)
        return
    if not e["agrees"]:
        e["status"] = "disagrees"
        e["error"] = (f"onnxruntime vs torch eager: max rel {e['ort_vs_torch_max_rel']:.3g} "
                      f"(max abs {e['ort_vs_torch_max_abs']:.3g}) > {REL_TOL}")
        return
    if e["size_bytes"] > MAX_BYTES:
        e["status"] = "too-large"
        e["error"] = f"{e['size_bytes']} bytes > {MAX_BYTES}"
        return
    # commit: move the model and its .npy files into the fixture folder
    e["status"] = "ok"
    e["file"] = f"{arch_dir.name}/{variant}.onnx"
    shutil.move(str(path), arch_dir / f"{variant}.onnx")
    for ref in e["refs"]:
        for group in ("inputs", "ort", "torch"):
            for n, f in ref[group].items():
                shutil.move(str(tmp / f), arch_dir / f)
                ref[group][n] = f"{arch_dir.name}/{f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", action="append", help="only these architectures (model_type); default all")
    ap.add_argument("--kinds", action="append", help="only these kinds (block, causallm, encoder)")
    ap.add_argument("--no-hf", action="store_true", help="skip transformers' exporter")
    ap.add_argument("--no-genai", action="store_true", help="skip onnxruntime-genai's builder")
    ap.add_argument("--skip-existing", action="store_true")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for a, s in ARCHS.items():
            print(a, s["tier"])
        return
    import torch
    torch.set_num_threads(1)
    import transformers
    import onnx
    import onnxruntime
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"fixtures": []}
    manifest["generator"] = "scripts/real_exports/make_fixtures.py"
    manifest["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                            "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
    with contextlib.suppress(Exception):
        import onnxruntime_genai
        import onnxscript
        manifest["versions"]["onnxruntime-genai"] = onnxruntime_genai.__version__
        manifest["versions"]["onnxscript"] = onnxscript.__version__
    manifest["tolerance"] = {"ort_vs_torch_max_rel": REL_TOL,
                             "definition": "max |ort - torch| / max |torch| over the first output, worst of the refs"}
    manifest["reference_sizes"] = {k: {"traced": list(TRACE[k]), "refs": [list(r) for r in REFS[k]]} for k in TRACE}
    archs = args.arch or list(ARCHS)
    for arch in archs:
        print(f"== {arch}", flush=True)
        t0 = time.time()
        if arch in ARCHS and not args.kinds and (OUT / arch).exists() and not args.skip_existing:
            shutil.rmtree(OUT / arch)
        entries = run_arch(arch, manifest, args)
        ids = {e["id"] for e in entries}
        manifest["fixtures"] = [f for f in manifest["fixtures"] if f["id"] not in ids and
                                not (f.get("arch") == arch and not args.kinds and not args.skip_existing)]
        manifest["fixtures"].extend(entries)
        manifest["fixtures"].sort(key=lambda f: f["id"])
        MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n")
        print(f"   ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
