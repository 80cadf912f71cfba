#ifndef MOEC_DIALECT_MOE_MOEDIALECT_TD
#define MOEC_DIALECT_MOE_MOEDIALECT_TD

include "mlir/IR/OpBase.td"

def MoE_Dialect : Dialect {
  let name = "moe";
  let summary = "Mixture-of-Experts layers and the kernels they decompose into";
  let description = [{
    The `moe` dialect holds moec's view of a Mixture-of-Experts model at two levels.

    At the *layer level*, `moe.layer` stands for one whole MoE block: a router that scores
    every token against every expert and picks the top k, the experts' MLPs over stacked
    weights, optional shared experts, and the weighted combine. Raising passes produce it
    from ONNX exports; fusion, quantization and sharding passes rewrite it.

    At the *kernel level*, a layer is decomposed into the kernels a fast MoE implementation
    runs: `moe.route` (scores to top-k weights and expert ids), `moe.permute` (tokens
    grouped by expert, padded per block), `moe.grouped_matmul` (one GEMM per expert
    segment) and `moe.unpermute` (the weighted combine back to token order). Code
    generation for the host and for NVIDIA GPUs starts from these ops.
  }];
  let cppNamespace = "::moec::moe";
  let useDefaultAttributePrinterParser = 1;
  // Canonicalizations materialize routing results as splats.
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect"];
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class MoE_Op<string mnemonic, list<Trait> traits = []>
    : Op<MoE_Dialect, mnemonic, traits>;

#endif // MOEC_DIALECT_MOE_MOEDIALECT_TD
