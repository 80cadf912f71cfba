#!/usr/bin/env python3
"""A numpy implementation of moe.layer's semantics (dialects/moe/MoEOps.td, MoEAttrs.td).

    from moe_reference import moe_layer
    y = moe_layer(tokens, router_weight, up_weight, down_weight,
                  routing=dict(scoring="softmax", k=2, renormalize=True),
                  expert=dict(activation="silu", gated=True))

Optional operands are keyword arguments named as moe.layer's operands (router_logits,
router_bias, score_bias, up_bias, down_bias, shared_up, shared_down, shared_gate); with
router_logits ([T, E], the layer's `logits(...)`), router_weight is None. `routing` and
`expert` take the parameters of #moe.routing and #moe.expert with their defaults. Computes
in float64 and returns float64: a reference for compiled layers, not a fast implementation.
"""
import math

import numpy as np

ROUTING_DEFAULTS = dict(renormalize=False, renormalize_epsilon=0.0, topk_first=False, n_group=1, topk_group=1,
                        routed_scaling_factor=1.0, capacity_factor=0.0, jitter_eps=0.01,
                        zero_masked_groups=False, weigh_inputs=False)
EXPERT_DEFAULTS = dict(gated=False, alpha=1.702, limit=7.0)


def _best_first(values):
    """Indices of `values`, best first, ties toward the lower index (as torch.topk)."""
    return np.argsort(-np.asarray(values), kind="stable")


def _sparse_mixer_weight(logits, chosen, earlier, jitter_eps):
    """SparseMixer's weight of expert `chosen` for one token's logits: the softmax at its
    logit m over the logits it does not mask (those more than 2 jitter_eps max(|l|, m)
    below m), the `earlier` chosen experts left out."""
    m = logits[chosen]
    kept = m - logits <= 2 * jitter_eps * np.maximum(np.abs(logits), m)
    kept[list(earlier)] = False
    return 1 / np.exp(logits[kept] - m).sum()


def route(logits, routing, score_bias=None):
    """moe.route: logits [T, E] -> (weights [T, k], expert_ids [T, k])."""
    r = {**ROUTING_DEFAULTS, **routing}
    if r["capacity_factor"] != 0:
        raise NotImplementedError("capacity-limited routing")
    logits = np.asarray(logits, dtype=np.float64)
    tokens, experts = logits.shape
    k = r["k"]
    softmax_of_chosen = r["topk_first"] and r["scoring"] == "softmax"
    sparse_mixer = r["scoring"] == "sparse_mixer"
    if r["topk_first"] or sparse_mixer:
        scores = logits
    elif r["scoring"] == "sigmoid":
        scores = 1 / (1 + np.exp(-logits))
    elif r["scoring"] == "sqrt_softplus":
        scores = np.sqrt(np.logaddexp(0, logits))
    else:
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        scores = shifted / shifted.sum(axis=1, keepdims=True)
    choice = scores + (0 if score_bias is None else np.asarray(score_bias, np.float64))

    weights = np.zeros((tokens, k))
    ids = np.zeros((tokens, k), dtype=np.int32)
    n_group, topk_group = r["n_group"], r["topk_group"]
    group_size = experts // n_group
    for t in range(tokens):
        candidates = np.arange(experts)
        token_choice = choice[t].copy()
        if topk_group < n_group:
            groups = choice[t].reshape(n_group, group_size)
            best_two = -np.sort(-groups, axis=1)[:, :min(2, group_size)]
            kept = np.sort(_best_first(best_two.sum(axis=1))[:topk_group])
            candidates = np.concatenate([np.arange(g * group_size, (g + 1) * group_size)
                                         for g in kept])
            candidates = np.sort(candidates)
            if r["zero_masked_groups"]:
                # The other groups' experts still compete, at 0.
                token_choice[np.setdiff1d(np.arange(experts), candidates)] = 0
                candidates = np.arange(experts)
        chosen = candidates[_best_first(token_choice[candidates])[:k]]
        w = scores[t, chosen]
        if softmax_of_chosen:
            w = np.exp(w - w.max())
        elif r["topk_first"]:
            w = 1 / (1 + np.exp(-w))
        if sparse_mixer:
            w = np.array([_sparse_mixer_weight(logits[t], e, chosen[:j], r["jitter_eps"])
                          for j, e in enumerate(chosen)])
        if r["renormalize"]:
            w = w / (w.sum() + r["renormalize_epsilon"])
        elif softmax_of_chosen:
            w = w / w.sum()
        weights[t] = w * r["routed_scaling_factor"]
        ids[t] = chosen
    return weights, ids


def _activation(name, x):
    if name == "relu":
        return np.maximum(x, 0)
    if name == "relu2":
        return np.maximum(x, 0) ** 2
    if name == "gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    if name == "gelu_tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    if name == "silu":
        return x / (1 + np.exp(-x))
    raise ValueError(f"unknown activation {name!r}")


def expert_mlp(x, up, down, expert, up_bias=None, down_bias=None):
    """One expert's MLP on rows x [R, H]: down(act(x @ up + up_bias)) + down_bias."""
    e = {**EXPERT_DEFAULTS, **expert}
    h = x @ up + (0 if up_bias is None else up_bias)
    if e["activation"] == "swiglu_clamped":
        inner = h.shape[1] // 2
        gate = np.minimum(h[:, :inner], e["limit"])
        lin = np.clip(h[:, inner:], -e["limit"], e["limit"])
        h = (lin + 1) * gate / (1 + np.exp(-e["alpha"] * gate))
    elif e["activation"] == "silu_clamped":
        inner = h.shape[1] // 2
        gate = np.minimum(h[:, :inner], e["limit"])
        h = _activation("silu", gate) * np.clip(h[:, inner:], -e["limit"], e["limit"])
    elif e["gated"]:
        inner = h.shape[1] // 2
        h = _activation(e["activation"], h[:, :inner]) * h[:, inner:]
    else:
        h = _activation(e["activation"], h)
    return h @ down + (0 if down_bias is None else down_bias)


def moe_layer(tokens, router_weight, up_weight, down_weight, routing, expert,
              router_logits=None, router_bias=None, score_bias=None, up_bias=None,
              down_bias=None, shared_up=None, shared_down=None, shared_gate=None):
    """moe.layer on tokens [T, H]; returns [T, H] in float64."""
    f64 = lambda a: None if a is None else np.asarray(a, dtype=np.float64)
    x = f64(tokens)
    if router_logits is not None:
        logits = f64(router_logits)
    else:
        logits = x @ f64(router_weight).T + (0 if router_bias is None else f64(router_bias))
    weights, ids = route(logits, routing, f64(score_bias))
    result = np.zeros_like(x)
    for e in range(f64(up_weight).shape[0]):
        rows, slots = np.nonzero(ids == e)
        if rows.size == 0:
            continue
        chosen_weights = weights[rows, slots][:, None]
        # weigh_inputs: the weights scale the experts' inputs, not their outputs (Llama 4).
        weigh_inputs = routing.get("weigh_inputs", False)
        out = expert_mlp(chosen_weights * x[rows] if weigh_inputs else x[rows],
                         f64(up_weight)[e], f64(down_weight)[e], expert,
                         None if up_bias is None else f64(up_bias)[e],
                         None if down_bias is None else f64(down_bias)[e])
        np.add.at(result, rows, out if weigh_inputs else chosen_weights * out)
    if shared_up is not None:
        shared = expert_mlp(x, f64(shared_up), f64(shared_down), expert)
        if shared_gate is not None:
            shared = shared / (1 + np.exp(-(x @ f64(shared_gate))))
        result += shared
    return result
