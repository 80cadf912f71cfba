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

    What an op's spec requires of values known only at run time (an index within its
    dimension, sizes that agree) is checked by a `moe.check` naming the node, placed
    before the loops that rely on it; `runtime-checks=false` (`moec --unchecked`) leaves
    them out, and the code computing their operands folds away.
  }];
  let options = [
    Option<"runtimeChecks", "runtime-checks", "bool", /*default=*/"true",
           "Check at run time what the ops' specs require of run-time values">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::cf::ControlFlowDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::tosa::TosaDialect", "::moec::moe::MoEDialect"
  ];
}

#endif // MOEC_PASSES_LEGALIZE_PASSES_TD
