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

#endif // MOEC_PASSES_TD
