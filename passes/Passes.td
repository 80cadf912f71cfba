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
      `normalize_routing_weights = 1`.
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

    A node that cannot be raised exactly (SparseMixer routing, the identity activation,
    SwiGLU parameters moe cannot express, weights that are not constants, shapes that do
    not fit) stays as it is, with a remark `not raised: <reason>`.
  }];
  let dependentDialects = [
    "::moec::moe::MoEDialect", "::mlir::tensor::TensorDialect"
  ];
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
      recognized by the shared router matcher (softmax or sigmoid scores, top-k on scores
      or on logits, renormalization, scaling, score-correction bias);
    - the experts `out`, projections over stacked `[E, K, N]` weights written as `Einsum`
      (`th,ehn->etn`, `etn,enh->eth`) or batched `MatMul` (of `Unsqueeze(x, 0)`, of `x`
      tiled E times, or of the previous projection), each optionally plus an `[E, 1, N]`
      bias; the body between them is recognized by the shared expert matcher.

    A candidate (a combine of a scattered top-k mask) that differs in any detail is left
    as it is, compiled by the generic path, with a remark on the combine node that names
    the node and what did not match.
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

#endif // MOEC_PASSES_TD
