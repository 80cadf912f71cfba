#ifndef MOEC_PASSES_RAISE_PASSES_TD
#define MOEC_PASSES_RAISE_PASSES_TD

include "mlir/Pass/PassBase.td"

def RaiseORTMoE : Pass<"moec-raise-ort-moe", "::mlir::ModuleOp"> {
  let summary = "Raise onnxruntime's com.microsoft.MoE nodes into moe.layer";
  let description = [{
    Replaces every `onnx.node "MoE"` of domain `com.microsoft` (onnxruntime's MoE contrib
    op) with one `moe.layer` whose router logits are the node's `router_probs` input.

    - Routing: softmax over the experts, top `k`, renormalized when
      `normalize_routing_weights = 1`; or with `use_sparse_mixer = 1` (Phi-3.5-MoE),
      `sparse_mixer` scoring, which needs `k = 2` and no normalization.
    - Expert body: `activation_type` `relu`, `gelu` (onnxruntime computes it with the tanh
      approximation: `gelu_tanh`), `silu`, or `swiglu`: with `activation_beta = 1` and a
      `swiglu_limit` it is `swiglu_clamped` (`alpha` = `activation_alpha`); with
      `activation_alpha = 1`, `activation_beta = 0` and no limit it is a gated `silu`. An
      `fc3_experts_weights` input makes any activation gated: `act(fc1) * fc3`.
    - Weights must be constants. They are rewritten at raise time into moe's layout
      (`[E, H, N]` / `[E, I, H]`, gate columns before up columns) from either of
      onnxruntime's layouts: the current `fc1 [E, N, H]`, `fc2 [E, H, I]` or the legacy
      `fc1 [E, H, N]`, `fc2 [E, I, H]`, told apart from fc2's shape as onnxruntime does.
      SwiGLU's gate and up come interleaved column by column (`swiglu_fusion = 1`, gate
      first), concatenated (`2`) or in fc1 and fc3 (`0`).
    - A `[B, S, H]` input is collapsed to `[B * S, H]` rows and the result expanded back.

    A node that cannot be raised exactly (SparseMixer routing with `k != 2`, the identity
    activation, SwiGLU parameters moe cannot express, weights that are not constants,
    router logits for a shard of the experts) stays as it is, with a remark
    `not raised: <reason>`. A node whose weights and biases disagree on the number of
    experts, the hidden or the inner size is malformed (onnxruntime refuses it when run):
    an error names the node and the pass fails.
  }];
  let dependentDialects = [
    "::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"
  ];
}

def RaiseORTQMoE : Pass<"moec-raise-ort-qmoe", "::mlir::ModuleOp"> {
  let summary = "Raise onnxruntime's com.microsoft.QMoE nodes into moe.layer with quantized "
                "expert weights";
  let description = [{
    Replaces every `onnx.node "QMoE"` of domain `com.microsoft` (onnxruntime's MoE with
    packed integer expert weights) with one `moe.layer` whose `up_weight` and
    `down_weight` are `moe.dequantize`s of integer constants and scales: the form
    `moec-quantize-expert-weights` makes, so that the grouped GEMM reads the weights
    quantized, dequantizes them inside, and runs only the `k` routed experts. Routing,
    activation and SwiGLU layouts are read as `moec-raise-ort-moe` reads them.

    onnxruntime stores projection `fc` as codes `[E, N, ceil(K · bits / 8)]` (uint8, row n
    an output feature, its K codes packed lowest bits first), scales `[E, N]` (one per
    row) or `[E, N, K / block_size]`, and optional zero points packed like the codes along
    their last dimension (default `2^(bits - 1)`); the weight is `(code - zero point) ·
    scale`. The raise only rearranges them: codes transposed into moe's `[E, K, N]` (gate
    columns before up columns), scales and zero points into `[E, groups, N]`; nothing is
    dequantized at compile time.

    - 4- and 2-bit codes with the default zero points become `code - zero point` as `i4`
      (`[-8, 7]`), 8-bit ones `i8`; with other zero points, the codes stay unsigned,
      `ui4` (2 and 4 bits) or `ui8`, beside zero points of the same type.
    - Blocks must divide K (or K be one block); input, router logits, scales and biases
      must be f32 (the host kernels' type).

    Anything else stays for `moec-expand-quantized-ops` (which dequantizes the weights at
    run time and runs every expert), with a remark `not raised (...): <reason>`:
    float8/float4 `quant_type`, prepacked weights, per-
    projection bit widths that differ, SparseMixer, `swiglu_limit_after_activation`,
    inputs 14 on, the identity activation, SwiGLU parameters moe cannot express, fc3
    without SwiGLU, weights that are not constants, and every node when
    `quantized-kernels` is false (the target's grouped GEMM takes f32 weights).
  }];
  let options = [
    Option<"quantizedKernels", "quantized-kernels", "bool", /*default=*/"true",
           "Whether the target's grouped GEMM reads quantized expert weights (the host's "
           "runtime kernels); without, no node is raised">
  ];
  let dependentDialects = [
    "::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"
  ];
}

def RaiseHFMoE : Pass<"moec-raise-hf-moe", "::mlir::ModuleOp"> {
  let summary = "Raise Hugging Face style loops over experts into moe.layer";
  let description = [{
    Finds the MoE layers that `torch.onnx.export` writes for Hugging Face sparse MoE
    blocks (Mixtral, Qwen2-MoE, Switch Transformers, GPT-OSS and their kin) and replaces
    each with one `moe.layer`. Such a layer starts at the TopK that chooses every token's
    experts: its indices go through OneHot and a Transpose to one mask per expert, and for
    every expert `torch.where` (NonZero) picks the token rows, the expert MLP runs on them,
    its output is multiplied by the routing weight of each (token, slot) and added into a
    zeros tensor with `index_add_` (ScatterElements).

    The pass recovers the routing (softmax or top-k-first scoring, k, renormalization,
    router bias; DeepSeek-V3's sigmoid scores with a score-correction bias for choosing,
    group-limited top-k and routed scaling factor), the expert body (SwiGLU, GeGLU, ReLU and GELU MLPs, GPT-OSS's clamped
    SwiGLU over interleaved columns, biases), stacks the per-expert weights into `[E, ...]`
    constants in `moe.layer`'s layout, and takes a shared expert added after the experts
    (with or without a `sigmoid(Linear(H, 1))` gate, to the sum or to the sum viewed back
    to the unflattened input) into the layer's shared operands.
    Every expert must appear exactly once and all with the same body.

    transformers 5's `eager` experts, traced by TorchScript, keep the experts as 3-D
    parameters and loop over the experts hit: the one-hot has E + 1 classes, the hit
    experts are `NonZero(mask.sum() > 0)` split in as many parts as the trace saw, and each
    iteration's projections multiply by `Gather(stack, id)` (maybe transposed) instead of a
    Linear's own weight. When the parts are E, a graph that runs hits every expert and the
    i-th part is expert i: the iteration is that expert's, and its projections must take
    that expert's matrix of a stack of E; the stacks are rebuilt from those matrices. With
    n < E parts of one, the graph runs only where exactly n experts are hit and part i is
    whichever expert a run hits i-th: the loop is raised when the hit experts are those of
    its own mask (`Greater(ReduceSum(mask, axes = [1, 2]), 0)`) and each part gathers its
    mask and all its matrices, from the same stacks for every part, by that one index; the
    parts then add up every expert hit, and the layer takes the whole stacks.

    A TopK that feeds a OneHot but whose graph differs in any detail (an unknown
    activation, a missing expert, experts with different bodies, an extra op) is left as
    it is, compiled through the generic path, with a remark on the TopK that says why
    (`moec --remarks` prints them). The dead per-expert graph is erased.
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

def RaiseDenseMoE : Pass<"moec-raise-dense-moe", "::mlir::ModuleOp"> {
  let summary = "Raise dense-masked MoE exports (all experts on all tokens) to moe.layer";
  let description = [{
    Finds MoE layers written in the "export-friendly" dense-masked style, in which every
    expert runs on every token and a scattered top-k mask picks the result, and replaces
    each with one `moe.layer`, recovering the sparsity: only the k chosen experts of each
    token run. The pattern, anchored on the combine:

    - the combine `y[t, h] = sum_e dense[t, e] * out[e, t, h]`, an `Einsum`
      (`te,eth->th`) or `ReduceSum` over axis 0 of `out * Unsqueeze(Transpose(dense))`;
    - the dense routing weights `dense`, `ScatterElements` (axis 1) of the top-k weights
      into zeros of the scores' shape at the `TopK` indices; the router before them is
      recognized by the shared router matcher (softmax then top-k, renormalized or not,
      or top-k on the logits then softmax), and must give exactly the scattered weights;
    - the experts `out`, projections over stacked `[E, K, N]` weights written as `Einsum`
      (`th,ehn->etn`, `etn,enh->eth`) or batched `MatMul` (of `Unsqueeze(x, 0)`, of `x`
      tiled E times, or of the previous projection), each optionally plus an `[E, 1, N]`
      bias; the body between them is recognized by the shared expert matcher.

    Llama 4's form, in which the dense weights scale the experts' input instead, is raised
    to a `moe.layer` with `weigh_inputs`: the unweighted `ReduceSum` over axis 0 of the
    experts' outputs, the experts reading `x` tiled E times times the transposed dense
    weights, those the `Sigmoid` of the top-k logits scattered into -inf (0 for the experts
    not chosen), the experts without biases (so that those not chosen output 0), and a
    shared expert added to the sum becoming the layer's.

    A candidate (a combine of a scattered top-k mask) that differs in any detail is left
    as it is, compiled by the generic path, with a remark on the combine node that names
    the node and what did not match (`moec --remarks` prints them). MoE layers that no pass
    can raise get a remark here too: Llama 4's experts on the tokens times their scores (on
    the unweighted sum) and Doge's product-key experts (on the TopK that chooses them).
  }];
  let dependentDialects = ["::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"];
}

def RaiseGatheredMoE : Pass<"moec-raise-gathered-moe", "::mlir::ModuleOp"> {
  let summary = "Raise experts computed on weights gathered per token (transformers 5's batched_mm) to moe.layer";
  let description = [{
    transformers 5 keeps each MoE block's experts as stacked parameters (`gate_up_proj`
    `[E, 2I, H]`, `down_proj` `[E, H, I]`; GPT-OSS stores them `[E, H, 2I]` / `[E, I, H]`)
    and its `batched_mm` implementation, the one torch's exporters and transformers' own
    exporter trace, computes every (token, slot) pair at once. The pass finds that
    computation by what it does and replaces it with one `moe.layer`, anchored on the sum
    over the slots:

    - `ReduceSum(z, axes = [1], keepdims = 0)` of `z` `[T, k, H]`, the expert rows
      `[T * k, H]` times the routing weights `[T, k]` (each viewed alike through reshapes,
      which keep the row-major order: row `t * k + s` is token t's slot s);
    - the rows come from the expert body (the shared expert matcher: SwiGLU / GeGLU with the
      gate and up in one projection as halves (`chunk(2)`) or interleaved (GPT-OSS's clamped
      SwiGLU), plain MLPs, biases) whose projections are batched MatMuls over weights
      gathered by each row's expert (`GatherND(W, ids[:, None])` or `Gather(W, ids)`, ids a
      view of the TopK's indices), `W[ids] @ x[:, :, None]` for `[E, out, in]` stacks or
      `x[:, None, :] @ W[ids]` for `[E, in, out]`, plus a gathered `[E, out]` bias;
    - the body reads the router's tokens repeated k times (`repeat_interleave`: `Expand` or
      `Tile` of `Unsqueeze(tokens, 1)` to `[T, k, H]`, viewed as rows);
    - the routing is recognized by the shared router matcher and its weights must be those
      the rows are multiplied by.

    The weights are rearranged into moe.layer's layout (transposed, gate columns first).
    A candidate (such a slot sum) that differs in any detail stays as it is, compiled by the
    generic path, with a remark on the ReduceSum that names what did not match.
  }];
  let dependentDialects = ["::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"];
}

def RaiseGroupedMoE : Pass<"moec-raise-grouped-moe", "::mlir::ModuleOp"> {
  let summary = "Raise experts run on the rows grouped by expert (transformers 5's grouped_mm) to moe.layer";
  let description = [{
    transformers 5's default experts implementation, `grouped_mm`, sorts the (token, slot)
    pairs by their expert and multiplies each expert's run of rows by that expert's weights;
    transformers' own exporter writes the grouped matmul as one MatMul per expert. The pass
    finds that computation by what it does and replaces it with one `moe.layer`, anchored on
    the sum over the slots:

    - `ReduceSum(z, axes = [1], keepdims = 0)` of `z` `[T, k, H]`, a view of the rows
      `[T * k, H]` in pair order (row `t * k + s` is token t's slot s);
    - those rows are the sorted rows put back in pair order: gathered (`GatherND` or
      `Gather`) by the inverse of the sort's permutation, `ScatterND(_, order[:, None],
      Range(0, N, 1))`, where the sort is `TopK(ids viewed as [T * k], T * k, largest = 0)`
      of the router's chosen experts `ids` `[T, k]`;
    - the sorted rows are the expert rows times each pair's routing weight, the weights
      `[T, k]` viewed as `[T * k]` gathered by the sort's order;
    - the expert rows come from the expert body (the shared expert matcher) whose
      projections are grouped: `Concat` over the experts e, in order, of
      `MatMul(Gather(x, Range(end[e - 1], end[e], 1)), W[e])`, `end` the inclusive prefix sums
      (`CumSum`) of how many rows each expert has (`ScatterElements(zeros [E], expert of each
      sorted row, ones, reduction = add)`, the expert maybe through torch's `histc` binning,
      checked for every expert id), `W[e]` expert e's matrix of a stacked constant
      (`Squeeze(Split(W))` or `Gather(W, e)`, maybe transposed), optionally plus a bias
      `[E, out]` gathered by each row's expert;
    - the body reads the router's tokens in sorted order: gathered by `order // k` (an
      integer `Div`, or torch's `floor_divide`, whose correction for negative numbers is
      recognized and is zero here);
    - the routing is recognized by the shared router matcher and its weights must be those
      the rows are multiplied by.

    The weights are rearranged into moe.layer's layout. A candidate (a slot sum of rows
    gathered back into pair order) that differs in any detail stays as it is, compiled by
    the generic path, with a remark on the ReduceSum that names what did not match.
  }];
  let dependentDialects = ["::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"];
}

def RaiseSplitMoE : Pass<"moec-raise-split-moe", "::mlir::ModuleOp"> {
  let summary = "Raise experts run on the parts of a Split of the rows sorted by expert (JetMoE) to moe.layer";
  let description = [{
    JetMoE's experts (transformers 5's `JetMoeParallelExperts`) sort the (token, slot) pairs
    by their expert, split the sorted rows into one part per expert and run each expert's
    Linear on its part; torch.export and transformers' exporter write that as a `Split` by
    the experts' counts, one `Gemm` or `MatMul` per part and a `Concat`. The pass finds that
    computation by what it does and replaces it with one `moe.layer`, anchored on the
    `ScatterND` that adds the rows back at their tokens:

    - `ScatterND(zeros, Unsqueeze(token, -1), rows * Unsqueeze(w[pairOfRow], -1), reduction
      = add)` (the updates maybe an `Expand` to their own shape), `zeros` an `Expand` of 0 or
      a `ConstantOfShape` of 0;
    - the sort is `TopK(ids viewed as [T * k], T * k, largest = 0)` of the router's chosen
      experts `ids` `[T, k]`; `pairOfRow` its permutation, the weights `[T, k]` viewed as
      `[T * k]` gathered by it, and `token` each sorted pair `// k` (an integer `Div`, torch's
      `floor_divide`, or torch.export's truncating division in f32 or f64, exact below 2^24
      pairs);
    - the rows come from the expert body (the shared expert matcher) whose projections are
      `Concat(Linear_e(Split(x, counts)#e) for every expert e, axis = 0)`, one Linear without
      bias per expert, `counts` the `Concat` of each expert's element (`Slice`, maybe
      `Gather` and reshaped) of the histogram of the router's choices,
      `ReduceSum(Cast(ScatterElements(zeros [_, E], ids, ones, axis = 1)), axes = [0])`;
      gate and up are the halves of one projection (`chunk(2)`);
    - the body reads the router's tokens gathered by `token`, and the routing, recognized
      by the shared router matcher, has the weights the rows are multiplied by.

    The zeros may have more rows than there are tokens (their count is not known when
    compiling): the result is `Concat(layer, Slice(zeros, T))`, the layer's `[T, H]` in their
    first T rows. The per-expert matrices are stacked into moe.layer's layout.
    A candidate (a ScatterND with reduction add of the Concat of Linears of the parts of a
    Split) that differs in any detail stays as it is, with a remark on the ScatterND that
    names what did not match: JetMoE's mixture of attention heads, whose query experts'
    rows go back in pair order unweighted and whose output experts are single Linears of
    the attention's rows, stays generic so.
  }];
  let dependentDialects = ["::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"];
}

def RaiseProductKeyMoE : Pass<"moec-raise-product-key-moe", "::mlir::ModuleOp"> {
  let summary = "Raise experts chosen by product keys (Doge's CDMoE) to moe.layer";
  let description = [{
    Doge's CDMoE (transformers' `DogeCDMoE`) has `E = n * n` experts, each one row of two
    embeddings: expert `e` computes `act(x . down_embed[e]) * up_embed[e]`, an MLP of inner
    size 1. It chooses them by product keys: the router's Linear gives `2n` logits per
    token, viewed as two halves `[2, T, n]` of all tokens' logits at once; each half is
    sorted by a TopK of all `n` keys; pair `(a, b)` scores `row[a] + column[b]` and is
    expert `a * n + b`; the `k` best pairs are chosen and weighed by the softmax of their
    scores. The pass finds that computation by what it does, anchored on the TopK over the
    pairs' scores:

    - the scores are the outer sum `Add(Unsqueeze(row, -1), Unsqueeze(column, -2))` of the
      two halves of one TopK's values (`Split` and `Squeeze`, or `Gather` on axis 0),
      viewed as `[T, n * n]`; that TopK sorts all `n` keys of a `Reshape` of the router's
      logits to `[2, T, -1]`, `T` the tokens' row count, so the view's last dim is `n`;
    - the experts picked are `GatherElements(row_id * n + column_id, indices)`, the ids the
      same halves of that TopK's indices;
    - the experts are `MatMul(Gather(down_embed, ids), x viewed as [T, H, 1])`, activated
      (any activation the expert matcher knows), times the softmax weights, viewed as
      `[T, 1, k]`, then `MatMul` with `Gather(up_embed, ids)`.

    The result is one `moe.layer` whose router logits (`logits(...)`) are `row[t, a] +
    column[t, b]` at `a * n + b`, built from the same `[2, T, n]` view, so the f32 sums are
    those the graph ranks and the view mixes tokens exactly as the model does (for T > 1 a
    token's halves come from other tokens' logits). Routing is `topk_first` softmax (with
    `renormalize` when the model renormalizes the softmax again); the experts are ungated,
    `down_embed` as their up projection `[E, H, 1]` and `up_embed` as their down projection
    `[E, 1, H]` (the same bytes, retyped). The dense MLP Doge adds to the experts stays as
    it is. Ties between equal pair scores may resolve to another expert of the same score.
    A candidate that differs in any detail stays generic, with a remark on its TopK.
  }];
  let dependentDialects = ["::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"];
}

#endif // MOEC_PASSES_RAISE_PASSES_TD
