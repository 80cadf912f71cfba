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
    router bias), the expert body (SwiGLU, GeGLU, ReLU and GELU MLPs, GPT-OSS's clamped
    SwiGLU over interleaved columns, biases), stacks the per-expert weights into `[E, ...]`
    constants in `moe.layer`'s layout, and takes a shared expert added after the experts
    (with or without a `sigmoid(Linear(H, 1))` gate) into the layer's shared operands.
    Every expert must appear exactly once and all with the same body.

    A TopK that feeds a OneHot but whose graph differs in any detail (an unknown
    activation, a missing expert, experts with different bodies, an extra op) is left as
    it is, compiled through the generic path, with a remark on the TopK that says why
    (`moec --remarks` prints them). The dead per-expert graph is erased.
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

#endif // MOEC_PASSES_TD
