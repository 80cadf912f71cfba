#ifndef MOEC_PASSES_OPTIMIZE_FUSION_PASSES_TD
#define MOEC_PASSES_OPTIMIZE_FUSION_PASSES_TD

include "mlir/Pass/PassBase.td"

// The fusions of the kernel level: each folds one op of the plain form that
// moec-decompose-moe-layers emits into the grouped matmul beside it, so that it costs no
// pass over memory of its own. Each is optional (moec --disable-pass, --list-passes), and
// each is correct whatever the others did: they match the plain ops, not one another's
// output.

def FuseRouterMatmulIntoRoute : Pass<"moec-fuse-router-matmul-into-route"> {
  let summary = "Compute the router logits inside moe.route, a few tokens at a time";
  let description = [{
    Rewrites `moe.route` of router logits that a matmul computes from the tokens
    (`tokens @ transpose(router)`, starting from zeros or from the broadcast router bias,
    as moec-decompose-moe-layers emits it) into `moe.route` of the tokens with the
    `router` and its `router_bias`: the router's scoring, score bias, group-limited top-k,
    normalization and scaling run in one kernel with the logits GEMM, and the `[T, E]`
    logits are never materialized. The host runtime's `moec_rt_moe_route_tokens_f32`
    computes the logits of a group of up to 8 tokens (vectorized dot products over the
    hidden size in register tiles of 4 tokens by 4 experts, each router row read from
    memory once for the group) and routes those tokens at once
    while their logits are in cache; the groups are split over the runtime's threads, as
    the other MoE kernels split their work.

    Given the same logits, the choice, weights and ids are those of the unfused route: both
    kernels route a token's row of logits with the same code. The logits themselves are
    float sums in another order: the fused dot product sums each logit in 16 partial sums
    (a 16-lane FMA accumulator; 8 sums without FMA where the CPU lacks AVX-512) and adds
    the bias last, where the unfused GEMM starts from the
    bias and blocks the hidden size its own way. Logits may therefore differ in their last
    bits, and experts whose logits are that close to a tie may be chosen differently; sums
    that are exact in f32 (small integers, e.g.) give the same bits. Only f32 routers fuse
    (the host kernels' type). Logits that come from outside the layer (a `router_logits`
    operand of `moe.layer`, onnxruntime's `com.microsoft.MoE`) are no matmul here, and
    those routes stay as they are.

    The pipeline runs it for the host only. The GPU lowering (moec-lower-moe-kernels-to-loops)
    takes a fused route too, computing its logits into a buffer, a thread per logit, before
    the routing kernel, which is what the unfused form does (its PTX assembles for sm_80 and
    sm_90a, test/codegen/common/moe-kernels-ptx.mlir); but there a 16-bit router
    matmul of the unfused form reaches the tensor-core GEMM kernels and the fused one would
    not, which has not been measured.

    ```mlir
    %rt = linalg.transpose ins(%router : tensor<8x64xf32>) outs(%e : tensor<64x8xf32>)
            permutation = [1, 0]
    %z = linalg.fill ins(%zero : f32) outs(%init : tensor<?x8xf32>) -> tensor<?x8xf32>
    %logits = linalg.matmul ins(%x, %rt : tensor<?x64xf32>, tensor<64x8xf32>)
                outs(%z : tensor<?x8xf32>) -> tensor<?x8xf32>
    %w, %ids = moe.route %logits routing <scoring = softmax, k = 2>
                 : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
    // becomes
    %w, %ids = moe.route %x router(%router : tensor<8x64xf32>)
                 routing <scoring = softmax, k = 2>
                 : tensor<?x64xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
    ```
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

def FuseActivationIntoGroupedMatmul : Pass<"moec-fuse-activation-into-grouped-matmul"> {
  let summary = "Apply the expert activation in the up projection's epilogue";
  let description = [{
    Rewrites `moe.expert_activation` of a `moe.grouped_matmul` that has no epilogue (and no
    other user) into that grouped matmul with the activation as its `expert` epilogue. For
    gated experts the gate and up columns are one GEMM over the stacked `[E, H, 2I]`
    weights, and the epilogue computes `act(gate) * up` from the two accumulators of an
    output element, so the `[P, 2I]` product is never written: the GEMM writes `[P, I]`.
    Every activation the raising produces fuses: `relu`, `relu2`, `gelu`, `gelu_tanh`, `silu`
    (SwiGLU when gated), GPT-OSS's `swiglu_clamped` and DeepSeek-V4's `silu_clamped`.

    ```mlir
    %gu = moe.grouped_matmul %rows, %w_up offsets %offsets
            : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>) -> tensor<?x256xf32>
    %h = moe.expert_activation %gu expert <activation = silu, gated = true>
           : tensor<?x256xf32> -> tensor<?x128xf32>
    // becomes
    %h = moe.grouped_matmul %rows, %w_up offsets %offsets
           expert <activation = silu, gated = true>
           : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>) -> tensor<?x128xf32>
    ```
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

def FuseGatherIntoGroupedMatmul : Pass<"moec-fuse-gather-into-grouped-matmul"> {
  let summary = "Read the token rows through the sorted ids in the grouped matmul's prologue";
  let description = [{
    Rewrites a `moe.grouped_matmul` whose input is a `moe.gather_rows` (the permuted copy
    of the tokens) into one that gathers itself (`gather %sorted_ids, rows_per_token R`):
    each row of the GEMM reads its token row where it lies, and the `[P, H]` copy is never
    materialized. The copy stays only where something else still reads it.

    ```mlir
    %rows = moe.gather_rows %x, %ids, rows_per_token 2
              : (tensor<?x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
    %h = moe.grouped_matmul %rows, %w_up offsets %offsets
           : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>) -> tensor<?x256xf32>
    // becomes
    %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %ids, rows_per_token 2
           : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<?xi32>)
           -> tensor<?x256xf32>
    ```
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

def FuseCombineIntoGroupedMatmul : Pass<"moec-fuse-combine-into-grouped-matmul"> {
  let summary = "Combine the expert rows into the tokens in the down projection's epilogue";
  let description = [{
    Rewrites `moe.unpermute` of a `moe.grouped_matmul` (the down projection; no other
    reader) into that grouped matmul with the combine epilogue (`combine(%ids, %weights)`):
    it multiplies each row by its pair's routing weight and sums the rows into the tokens'
    output rows itself, so the `[P, H]` expert rows are no tensor of the program and the
    unpermute is no kernel of its own.

    On the host the runtime's grouped GEMM keeps the expert rows in a buffer of its own
    between calls (no allocation and no first-touch page faults per call) and combines them
    right after the GEMM, while a small batch's rows are still in cache. It is
    deterministic: each token sums its `k` rows in slot order `j = 0..k-1`, one thread per
    token, exactly as the unpermute does, so the result is bit for bit the unfused one.

    The pipeline runs it for the host only, after expert sharding (which matches the
    unpermute). The GPU kernels have no such epilogue yet: summing a token's rows in the
    down GEMM's epilogue there would take atomic adds across the blocks of different
    experts, whose order, and so whose rounding, changes from run to run. Where a combining
    grouped matmul reaches the loop kernels (moe-opt, or the host without runtime kernels),
    they split the combine back off into the unpermute's kernels.

    ```mlir
    %rows = moe.grouped_matmul %h, %w_down offsets %offsets
              : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
    %y = moe.unpermute %rows, %ids, %weights
           : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
    // becomes
    %y = moe.grouped_matmul %h, %w_down offsets %offsets
           combine(%ids, %weights : tensor<?xi32>, tensor<?x2xf32>)
           : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
    ```
  }];
  let dependentDialects = ["::moec::moe::MoEDialect"];
}

def ShortcutPermuteForFewTokens : Pass<"moec-shortcut-permute-for-few-tokens"> {
  let summary = "Lay out a decode step's few pairs by counting, without the permute kernel";
  let description = [{
    The decode shortcut. For a few tokens (at most `max-tokens`, one by default), the
    sorted-token layout needs no histogram, prefix sum and scatter: pair `p`'s slot is the
    number of pairs with a smaller expert id (or the same id and a smaller index), expert
    `e`'s offset the number of pairs below `e`, which small comparison loops in the calling
    code count (`k * k` and `(E + 1) * k` comparisons for one token). The grouped GEMMs
    then run each chosen expert on the token rows directly. The layout is the one
    `moe.permute` makes with `block_size` 1, so the results are the same bit for bit.

    A `moe.permute` of a dynamic number of tokens becomes an `scf.if` on the token count:
    the counting for a few tokens, the permute (the general path) for more; of a static
    number, the counting when there are few enough, else it stays. Only permutes of ids
    from dropless routing (every id names an expert) and unpadded segments (`block_size`
    1, as moec's decomposition makes them) change.

    The pipeline runs it for the host only, after expert sharding (which matches the
    permute); the GPU pipeline would run the counting as kernels of their own, which has not
    been measured. On the host it does not pay (benchmarks/ablate.py): a one-token step is
    bound by reading the chosen experts' weights, and the permute it saves costs well under
    a microsecond, about what the counting's three small buffers cost instead.

    ```mlir
    %sorted, %offsets = moe.permute %ids experts 8 block 1
                          : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
    // becomes
    %few = arith.cmpi ule, %tokens, %c1 : index
    %sorted, %offsets = scf.if %few -> (tensor<?xi32>, tensor<9xi32>) {
      ...  // linalg.generic counting over the pairs
    } else {
      %s, %o = moe.permute %ids experts 8 block 1 : ...
      scf.yield %s, %o : tensor<?xi32>, tensor<9xi32>
    }
    ```
  }];
  let options = [
    Option<"maxTokens", "max-tokens", "int64_t", /*default=*/"1",
           "The most tokens laid out by counting (the comparisons grow as their square)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"];
}

#endif // MOEC_PASSES_OPTIMIZE_FUSION_PASSES_TD
