#ifndef MOEC_PASSES_LEGALIZE_PASSES_TD
#define MOEC_PASSES_LEGALIZE_PASSES_TD

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

#endif // MOEC_PASSES_LEGALIZE_PASSES_TD
