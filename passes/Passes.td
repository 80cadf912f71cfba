#ifndef MOEC_PASSES_TD
#define MOEC_PASSES_TD

include "mlir/Pass/PassBase.td"

def LegalizeONNX : Pass<"moec-legalize-onnx", "::mlir::ModuleOp"> {
  let summary = "Convert the onnx level to upstream dialects";
  let description = [{
    Rewrites every `onnx.node`, `onnx.constant` and `onnx.none` into tosa, linalg, tensor,
    arith, math and scf ops on tensors, from which upstream lowering takes over. ONNX's
    unsigned integer tensors become signless tensors, the signedness kept in the
    operations chosen (e.g. `arith.divui`).

    Each ONNX op type has its own pattern, grouped by family in `passes/legalize/`. A node
    whose op type, domain or attribute value moec does not support stops the pass with an
    error that names the node, its op type and what is missing: never a silent wrong
    result.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::cf::ControlFlowDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::tosa::TosaDialect"
  ];
}

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

    A candidate (a combine of a scattered top-k mask) that differs in any detail is left
    as it is, compiled by the generic path, with a remark on the combine node that names
    the node and what did not match (`moec --remarks` prints them).
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

def DecomposeMoELayers : Pass<"moec-decompose-moe-layers"> {
  let summary = "Rewrite moe.layer into route, permute, grouped matmuls and unpermute";
  let description = [{
    Replaces every `moe.layer` by the kernel level, as the op's description says:

    1. router logits `tokens @ router_weight^T (+ router_bias)` as a `linalg.matmul` (the
       `[T, E]` product is small);
    2. `moe.route` (with the layer's `score_bias`) to the experts and weights of every token;
    3. `moe.permute` into the sorted-token layout, segments padded to `block-size`;
    4. the up projection: `moe.grouped_matmul` gathering the tokens through `sorted_ids`,
       with `up_bias` and the layer's `expert` activation (gated or not) as its epilogue;
    5. the down projection: `moe.grouped_matmul` on the sorted layout, with `down_bias`;
    6. `moe.unpermute` with the routing weights.

    A shared expert runs the same two grouped matmuls with a single expert (its weights
    expanded to `[1, ...]`, offsets `[0, T]`) over all tokens; with a `shared_gate` its
    output is scaled by `sigmoid(tokens @ shared_gate)` before it is added to the routed
    result.

    A layer the kernels cannot run yet (capacity-limited routing, an unknown number of
    experts) is an error at the layer's location, never a silent wrong result.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"1",
           "Pad every expert's segment of the sorted layout to a multiple of this many rows "
           "(1 on the host; GPU GEMM tiles want their tile height)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect",
    "::moec::moe::MoEDialect"
  ];
}

def GroupedMatmulToBF16 : Pass<"moec-grouped-matmul-to-bf16", "::mlir::ModuleOp"> {
  let summary = "Run the expert GEMMs of f32 models in bf16";
  let description = [{
    Rewrites every `moe.grouped_matmul` on f32 input and f32 weights into one on bf16
    (input, weights and bias rounded to the nearest bf16, ties to even) whose result is
    widened back to f32, so that the product runs on bf16 tensor cores
    (`moec-lower-grouped-matmul-to-mma`) with f32 accumulation. What `moec --precision=bf16`
    asks for; without it models keep their own precision.

    Constant weights and biases are rounded now, at compile time (also when reshaped to one
    expert, as shared experts are): a dense resource (an imported initializer) becomes a
    new resource of half the size, so the executable holds the bf16 weights only. Other operands (the activations) are rounded by an elementwise
    `linalg.generic` that runs with the model, as is the widening of the result.

    Runs at the kernel level on tensors, after `moec-decompose-moe-layers`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::moec::moe::MoEDialect"
  ];
}

#endif // MOEC_PASSES_TD
