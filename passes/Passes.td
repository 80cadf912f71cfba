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

#endif // MOEC_PASSES_TD
