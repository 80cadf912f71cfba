#ifndef MOEC_PASSES_OPTIMIZE_SHARD_PASSES_TD
#define MOEC_PASSES_OPTIMIZE_SHARD_PASSES_TD

include "mlir/Pass/PassBase.td"

def ShardExperts : Pass<"moec-shard-experts", "::mlir::ModuleOp"> {
  let summary = "Place the routed experts of every MoE layer on the ranks of an MPI job";
  let description = [{
    Expert parallelism (docs/sharding.md). Replaces the routed experts of every decomposed
    MoE layer, `moe.permute` then the up and down `moe.grouped_matmul`s then `moe.unpermute`,
    by `moe.expert_parallel`, which sends each (token, expert) pair to the rank holding its
    expert and brings the result back. The experts are placed uniformly, in contiguous
    blocks, or balanced by a routing profile, or as a placement file says
    (moec/Passes/Shard/ExpertPlacement.h); everything else (routing, shared experts,
    the rest of the model) stays on every rank, data parallel.

    The module is the program of rank `rank` of `ranks`: its expert stacks hold that rank's
    experts only, `[L, ...]` with `L` the most experts any rank holds (zeros past its own),
    so that every rank's program has the same shapes and weight layout and differs only in
    the weights' bytes. Stacks are new dense resources, named after the originals with
    `.rank<R>`.

    Quantized stacks (8-bit or 4-bit integer codes, fp8) are sliced alike, with their
    scales and zero points: a rank holds whole experts, so fp8's blocks of scales stay
    whole, and the host packs 4-bit codes two a byte within an expert.

    Runs at the kernel level, after `moec-decompose-moe-layers` (block size 1). A layer
    whose expert weights are not constants, or neither f32 nor quantized as above, or that
    has fewer experts than `replicate-hot`, stays as it is.
  }];
  let options = [
    Option<"ranks", "ranks", "int64_t", /*default=*/"1", "The ranks of the job">,
    Option<"rank", "rank", "int64_t", /*default=*/"0", "The rank this module is the program of">,
    Option<"profile", "profile", "std::string", /*default=*/"",
           "A routing profile (JSON, per layer in the module's order, tokens per expert) to "
           "balance the placement by; empty: uniform">,
    Option<"replicateHot", "replicate-hot", "int64_t", /*default=*/"0",
           "The most loaded experts of every layer to hold on every rank (by the profile; "
           "without one, the lowest ids)">,
    Option<"placement", "placement", "std::string", /*default=*/"",
           "A placement file (JSON, per layer in the module's order, each expert's rank or "
           "\"all\") that places the experts instead of the profile or the blocks">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect",
                           "::moec::moe::MoEDialect"];
}

#endif // MOEC_PASSES_OPTIMIZE_SHARD_PASSES_TD
