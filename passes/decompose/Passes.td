#ifndef MOEC_PASSES_DECOMPOSE_PASSES_TD
#define MOEC_PASSES_DECOMPOSE_PASSES_TD

include "mlir/Pass/PassBase.td"

def DecomposeMoELayers : Pass<"moec-decompose-moe-layers"> {
  let summary = "Rewrite moe.layer into the plain kernel level: route, permute, grouped matmuls and unpermute";
  let description = [{
    Replaces every `moe.layer` by the kernel level, as the op's description says:

    1. router logits `tokens @ router_weight^T (+ router_bias)` as a `linalg.matmul` (the
       `[T, E]` product is small);
    2. `moe.route` (with the layer's `score_bias`) to the experts and weights of every token;
    3. `moe.permute` into the sorted-token layout, segments padded to `block-size`;
    4. the tokens copied into the sorted layout through `sorted_ids` (`moe.gather_rows`);
    5. the up projection: `moe.grouped_matmul` on the copy with `up_bias`, gate and up
       columns as one GEMM, no epilogue;
    6. the layer's `expert` activation, gated or not (`moe.expert_activation`);
    7. the down projection: `moe.grouped_matmul` on the sorted layout, with `down_bias`;
    8. `moe.unpermute` with the routing weights.

    This is the plain form, one op per step; the fusions (docs/passes/optimize-fusion.md)
    then fold the copy and the activation into the up projection.

    A shared expert runs the up projection, activation and down projection with a single
    expert (its weights
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

#endif // MOEC_PASSES_DECOMPOSE_PASSES_TD
