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
