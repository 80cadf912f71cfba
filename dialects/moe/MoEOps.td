#ifndef MOEC_DIALECT_MOE_MOEOPS_TD
#define MOEC_DIALECT_MOE_MOEOPS_TD

include "MoEAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Layer level
//===----------------------------------------------------------------------===//

def MoE_LayerOp : MoE_Op<"layer", [Pure, AttrSizedOperandSegments]> {
  let summary = "One whole Mixture-of-Experts layer";
  let description = [{
    Routes every token to `k` of `E` experts, runs each chosen expert's MLP on the token,
    and returns the routing-weighted sum of their outputs (plus the shared experts' output,
    if any). Raising passes produce this op from ONNX exports; the kernel level replaces it
    with `moe.route`, `moe.permute`, `moe.gather_rows`, `moe.grouped_matmul`,
    `moe.expert_activation` and `moe.unpermute`, and the fusions fold the gather and the
    activation into the grouped matmul.

    Operands, with `T` tokens of hidden size `H`, `E` experts of inner size `I`, and
    `N = 2 * I` when the experts are gated, else `N = I`:

    | operand         | shape        | meaning                                           |
    | --------------- | ------------ | ------------------------------------------------- |
    | `tokens`        | `[T, H]`     | the layer's input                                 |
    | `up_weight`     | `[E, H, N]`  | stacked up (and gate) projections                 |
    | `down_weight`   | `[E, I, H]`  | stacked down projections                          |
    | `router_weight` | `[E, H]`     | router logits are `tokens @ router_weight^T`      |
    | `router_logits` | `[T, E]`     | router logits computed outside the layer          |
    | `router_bias`   | `[E]`        | optional, added to the logits                     |
    | `score_bias`    | `[E]`        | optional score correction, for choosing only      |
    | `up_bias`       | `[E, N]`     | optional                                          |
    | `down_bias`     | `[E, H]`     | optional                                          |
    | `shared_up`     | `[H, Ns]`    | optional shared expert, same body as the experts  |
    | `shared_down`   | `[Is, H]`    | with `shared_up`                                  |
    | `shared_gate`   | `[H, 1]`     | optional sigmoid gate on the shared expert's output |

    Exactly one of `router_weight` (the layer owns its router, as in most exports) and
    `router_logits` (the logits are an input of the layer, as in onnxruntime's
    `com.microsoft.MoE`) is present.

    Gated projections keep the gate's columns first and the up's after them.

    Examples:

    ```mlir
    %y = moe.layer %x, %w_up, %w_down router(%router : tensor<8x64xf32>)
           routing <scoring = softmax, k = 2, renormalize = true>
           expert <activation = silu, gated = true>
           : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<8x128x64xf32>) -> tensor<?x64xf32>

    %z = moe.layer %x, %w_up, %w_down logits(%logits : tensor<?x8xf32>)
           routing <scoring = softmax, k = 2>
           expert <activation = relu>
           : (tensor<?x64xf32>, tensor<8x64x128xf32>, tensor<8x128x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins
    2DTensorOf<[AnyFloat]>:$tokens,
    3DTensorOf<[AnyFloat]>:$up_weight,
    3DTensorOf<[AnyFloat]>:$down_weight,
    Optional<2DTensorOf<[AnyFloat]>>:$router_weight,
    Optional<2DTensorOf<[AnyFloat]>>:$router_logits,
    Optional<1DTensorOf<[AnyFloat]>>:$router_bias,
    Optional<1DTensorOf<[AnyFloat]>>:$score_bias,
    Optional<2DTensorOf<[AnyFloat]>>:$up_bias,
    Optional<2DTensorOf<[AnyFloat]>>:$down_bias,
    Optional<2DTensorOf<[AnyFloat]>>:$shared_up,
    Optional<2DTensorOf<[AnyFloat]>>:$shared_down,
    Optional<2DTensorOf<[AnyFloat]>>:$shared_gate,
    MoE_RoutingAttr:$routing,
    MoE_ExpertAttr:$expert
  );
  let results = (outs 2DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $tokens `,` $up_weight `,` $down_weight
    (`router` `(` $router_weight^ `:` type($router_weight) `)`)?
    (`logits` `(` $router_logits^ `:` type($router_logits) `)`)?
    (`router_bias` `(` $router_bias^ `:` type($router_bias) `)`)?
    (`score_bias` `(` $score_bias^ `:` type($score_bias) `)`)?
    (`up_bias` `(` $up_bias^ `:` type($up_bias) `)`)?
    (`down_bias` `(` $down_bias^ `:` type($down_bias) `)`)?
    (`shared` `(` $shared_up^ `,` $shared_down `:` type($shared_up) `,` type($shared_down) `)`)?
    (`shared_gate` `(` $shared_gate^ `:` type($shared_gate) `)`)?
    `routing` custom<BareAttr>($routing) `expert` custom<BareAttr>($expert) attr-dict
    `:` `(` type($tokens) `,` type($up_weight) `,` type($down_weight) `)` `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The number of routed experts, E (ShapedType::kDynamic if unknown).
    int64_t getNumExperts() { return getUpWeight().getType().getDimSize(0); }

    /// The ODS name of the operand group that holds operand `operandNumber`.
    ::llvm::StringRef getOperandSegmentName(unsigned operandNumber);
  }];
}

//===----------------------------------------------------------------------===//
// Kernel level
//===----------------------------------------------------------------------===//

def MoE_RouteOp : MoE_Op<"route", [Pure, AttrSizedOperandSegments]> {
  let summary = "Router logits to the top-k experts of every token and their weights";
  let description = [{
    Turns router logits `[T, E]` into, for every token, the ids of its `k` experts
    (`expert_ids`, `[T, k]`, best first) and their routing weights (`weights`, `[T, k]`),
    as the `routing` attribute describes: scoring, top-k (group-limited or not, on logits
    first or on scores), renormalization and scaling, all in one kernel. An optional
    `score_bias` (`[E]`) is added to the scores for choosing the experts only.

    With a `router` weight (`[E, H]`, and optionally its `router_bias`, `[E]`), `input` is
    the tokens `[T, H]` rather than their logits, and the op computes each token's logits
    `input @ router^T + router_bias` itself (the router fusion,
    `moec-fuse-router-matmul-into-route`): the `[T, E]` logits are no tensor of the
    program. Without it, `input` is the logits.

    Example:

    ```mlir
    %w, %ids = moe.route %logits routing <scoring = softmax, k = 2>
                 : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
    %w2, %ids2 = moe.route %tokens router(%router : tensor<8x64xf32>)
                   routing <scoring = softmax, k = 2>
                   : tensor<?x64xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
    ```
  }];
  let arguments = (ins
    2DTensorOf<[AnyFloat]>:$input,
    Optional<2DTensorOf<[AnyFloat]>>:$router_weight,
    Optional<1DTensorOf<[AnyFloat]>>:$router_bias,
    Optional<1DTensorOf<[AnyFloat]>>:$score_bias,
    MoE_RoutingAttr:$routing
  );
  let results = (outs 2DTensorOf<[AnyFloat]>:$weights, 2DTensorOf<[I32]>:$expert_ids);
  let assemblyFormat = [{
    $input (`router` `(` $router_weight^ `:` type($router_weight) `)`)?
    (`router_bias` `(` $router_bias^ `:` type($router_bias) `)`)?
    (`score_bias` `(` $score_bias^ `:` type($score_bias) `)`)?
    `routing` custom<BareAttr>($routing) attr-dict
    `:` type($input) `->` type($weights) `,` type($expert_ids)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// The number of experts routed to: the router's rows, or the logits' columns.
    int64_t getNumExperts() {
      ::mlir::Value rows = getRouterWeight();
      return ::llvm::cast<::mlir::ShapedType>((rows ? rows : getInput()).getType())
          .getDimSize(rows ? 0 : 1);
    }
  }];
}

def MoE_PermuteOp : MoE_Op<"permute", [Pure]> {
  let summary = "Group (token, slot) pairs by expert, each group padded to a block";
  let description = [{
    Computes the sorted-token layout that grouped GEMMs run on: a histogram of
    `expert_ids` (`[T, k]`) per expert, its prefix sum, and the scatter of every pair
    `(t, j)` — encoded as `t * k + j` — into its expert's segment.

    - `sorted_ids` (`[P]`): the pairs, expert 0's first. Every segment is padded up to a
      multiple of `block_size`; padding slots hold `T * k`, which names no pair. `P` is the
      worst case, `T * k + E * (block_size - 1)`.
    - `expert_offsets` (`[E + 1]`): expert `e`'s segment is
      `sorted_ids[expert_offsets[e] .. expert_offsets[e + 1])`; the last entry is the
      used length.

    Within a segment, pairs keep token order, so the layout is deterministic.

    Example:

    ```mlir
    %ids, %offsets = moe.permute %expert_ids experts 8 block 16
                       : tensor<4x2xi32> -> tensor<128xi32>, tensor<9xi32>
    ```
  }];
  let arguments = (ins
    2DTensorOf<[I32]>:$expert_ids,
    ConfinedAttr<I64Attr, [IntPositive]>:$num_experts,
    ConfinedAttr<I64Attr, [IntPositive]>:$block_size
  );
  let results = (outs 1DTensorOf<[I32]>:$sorted_ids, 1DTensorOf<[I32]>:$expert_offsets);
  let assemblyFormat = [{
    $expert_ids `experts` $num_experts `block` $block_size attr-dict
    `:` type($expert_ids) `->` type($sorted_ids) `,` type($expert_offsets)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The worst-case length of `sorted_ids` for `pairs` (token, slot) pairs.
    int64_t getPaddedLength(int64_t pairs) {
      return pairs + getNumExperts() * (getBlockSize() - 1);
    }
  }];
}

def MoE_GroupedMatmulOp : MoE_Op<"grouped_matmul", [Pure, AttrSizedOperandSegments]> {
  let summary = "One GEMM per expert segment over stacked expert weights";
  let description = [{
    For every expert `e`, multiplies the rows of its segment
    (`expert_offsets[e] .. expert_offsets[e + 1]`) by `weights[e]` (`[K, N]`), adds
    `bias[e]` if given, and applies the epilogue `expert` activation if given. Rows of
    padding slots are zero. Experts with empty segments cost nothing.

    The rows come from `input` in one of two ways:
    - with `sorted_ids` (the prologue gather): `input` is in token order, `[T, K]`, and row
      `p` of the result reads token `sorted_ids[p] / rows_per_token` — the permuted copy is
      never materialized;
    - without: `input` is already in the sorted layout, `[P, K]` (e.g. the output of the
      up projection feeding the down projection).

    With a gated `expert` epilogue the result has `N / 2` columns
    (`act(gate) * up`), else `N`.

    With `combine` (the combine epilogue), the rows are not returned but combined into
    token order as `moe.unpermute` combines them: `combine_ids` names the pair of every
    row (the `sorted_ids` of the `moe.permute`), `combine_weights` (`[T, k]`) the pairs'
    routing weights, and `result[t] = sum_j combine_weights[t, j] * row(p(t, j))`, where
    `p(t, j)` is the (last) row naming pair `t * k + j`; a pair that no row names adds
    nothing. The result is `[T, N]` (`N / 2` gated). `moec-fuse-combine-into-grouped-matmul`
    makes it from the down projection and its `moe.unpermute`.

    Quantized weights (integer or `f8E4M3FN` element types) need `scales` (`[E, G, N]`,
    one scale per group of `K / G` rows of every column; `[E, G, C]` blocks for fp8), and
    unsigned ones `zero_points` as well; they are dequantized inside the GEMM, as
    `moe.dequantize` defines it. Weights that come from
    a `moe.dequantize` canonicalize to its quantized weights, scales and zero points here.

    Example:

    ```mlir
    %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %ids, rows_per_token 2
           expert <activation = silu, gated = true>
           : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<?xi32>)
           -> tensor<?x128xf32>
    ```
  }];
  let arguments = (ins
    2DTensorOf<[AnyFloat]>:$input,
    3DTensorOf<[AnyFloat, AnySignlessInteger, AnyUnsignedInteger]>:$weights,
    1DTensorOf<[I32]>:$expert_offsets,
    Optional<1DTensorOf<[I32]>>:$sorted_ids,
    Optional<2DTensorOf<[AnyFloat]>>:$bias,
    Optional<3DTensorOf<[AnyFloat]>>:$scales,
    Optional<3DTensorOf<[AnyUnsignedInteger]>>:$zero_points,
    Optional<1DTensorOf<[I32]>>:$combine_ids,
    Optional<2DTensorOf<[AnyFloat]>>:$combine_weights,
    OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$rows_per_token,
    OptionalAttr<MoE_ExpertAttr>:$expert
  );
  let results = (outs 2DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $input `,` $weights `offsets` $expert_offsets
    (`gather` $sorted_ids^ `,` `rows_per_token` $rows_per_token)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`scales` `(` $scales^ `:` type($scales) `)`)?
    (`zero_points` `(` $zero_points^ `:` type($zero_points) `)`)?
    (`combine` `(` $combine_ids^ `,` $combine_weights `:` type($combine_ids) `,`
      type($combine_weights) `)`)?
    (`expert` custom<BareAttr>($expert)^)? attr-dict
    `:` `(` type($input) `,` type($weights) `,` type($expert_offsets)
    (`,` type($sorted_ids)^)? `)` `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def MoE_GatherRowsOp : MoE_Op<"gather_rows", [Pure]> {
  let summary = "The tokens copied into the sorted-token layout";
  let description = [{
    Row `p` of the result is row `sorted_ids[p] / rows_per_token` of `tokens` (`[T, K]`);
    rows of padding slots (ids outside `[0, T * rows_per_token)`) are zero. This is the
    materialized permuted copy that the decomposition emits before the up projection;
    `moec-fuse-gather-into-grouped-matmul` folds it into the grouped matmul's prologue
    (`gather`), which reads the token rows through the ids instead.

    Example:

    ```mlir
    %rows = moe.gather_rows %x, %ids, rows_per_token 2
              : (tensor<?x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins
    2DTensorOf<[AnyFloat]>:$tokens,
    1DTensorOf<[I32]>:$sorted_ids,
    ConfinedAttr<I64Attr, [IntPositive]>:$rows_per_token
  );
  let results = (outs 2DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $tokens `,` $sorted_ids `,` `rows_per_token` $rows_per_token attr-dict
    `:` `(` type($tokens) `,` type($sorted_ids) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def MoE_ExpertActivationOp : MoE_Op<"expert_activation", [Pure]> {
  let summary = "The expert MLP's nonlinearity on the up projection's rows";
  let description = [{
    Applies the `expert` activation to every row of `input` (`[P, N]`), as the grouped
    matmul's epilogue would: ungated, `act(x)` elementwise (`[P, N]`); gated, the gate's
    columns first and the up's after them, `act(gate) * up` (`[P, N / 2]`), with
    `swiglu_clamped` and `silu_clamped` clamping both halves first (and `swiglu_clamped`
    scaling by the up plus one). The
    decomposition emits it after an up projection without epilogue;
    `moec-fuse-activation-into-grouped-matmul` folds it into that grouped matmul.

    Example:

    ```mlir
    %h = moe.expert_activation %gate_up expert <activation = silu, gated = true>
           : tensor<?x256xf32> -> tensor<?x128xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[AnyFloat]>:$input, MoE_ExpertAttr:$expert);
  let results = (outs 2DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $input `expert` custom<BareAttr>($expert) attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def MoE_UnpermuteOp : MoE_Op<"unpermute", [Pure]> {
  let summary = "Routing-weighted combine of expert outputs back into token order";
  let description = [{
    The inverse of `moe.permute`: for every token `t`,
    `result[t] = sum_j weights[t, j] * expert_out[p(t, j)]`, where `p(t, j)` is the slot of
    pair `t * k + j` in `sorted_ids`. Padding slots are ignored.

    Example:

    ```mlir
    %y = moe.unpermute %out, %ids, %weights
           : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins
    2DTensorOf<[AnyFloat]>:$expert_out,
    1DTensorOf<[I32]>:$sorted_ids,
    2DTensorOf<[AnyFloat]>:$weights
  );
  let results = (outs 2DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $expert_out `,` $sorted_ids `,` $weights attr-dict
    `:` `(` type($expert_out) `,` type($sorted_ids) `,` type($weights) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

def MoE_ExpertParallelOp : MoE_Op<"expert_parallel", [AttrSizedOperandSegments,
    MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "A layer's routed experts, sharded over the ranks of an MPI job";
  let description = [{
    Expert parallelism (docs/sharding.md): every rank of the job runs this op on its own
    `tokens` (`[T, H]`), routed to `expert_ids` with `weights` (both `[T, k]`, ids global,
    in `[0, E)`), and holds the weights of its own experts only: `up_weight`
    (`[L, H, N]`) and `down_weight` (`[L, I, H]`), with optional `up_bias` (`[L, N]`) and
    `down_bias` (`[L, H]`), `L` the most experts a rank holds. Global expert `e` lives on
    rank `expert_ranks[e]` as slot `expert_slots[e]` of that rank's stacks, each an MLP as
    `expert` describes (as `moe.grouped_matmul`'s epilogue); rank `-1` means every rank
    holds the expert at that slot, and its pairs are computed where the token is.

    Quantized stacks (integer or `f8E4M3FN` weights) take their `up_scales` /
    `down_scales`, and unsigned ones their `up_zero_points` / `down_zero_points`, sliced to
    the rank's experts like the weights and read as `moe.grouped_matmul` reads its own
    (`[L, G, N]`, fp8 `[L, G, C]` blocks); the weights are dequantized inside the rank's GEMMs.

    Every (token, expert) pair goes to its expert's rank, the expert's output row comes
    back, and `result[t] = sum_j weights[t, j] * expert_{expert_ids[t, j]}(tokens[t])`: what
    `moe.permute`, the two `moe.grouped_matmul`s and `moe.unpermute` compute unsharded. The
    exchange is collective, so the op has effects: every rank must run it, in the same
    order.

    Example:

    ```mlir
    %y = moe.expert_parallel %x, %ids, %w, %up, %down ranks 2
           experts [0, 0, 1, 1] slots [0, 1, 0, 1] expert <activation = silu, gated = true>
           : (tensor<?x16xf32>, tensor<?x2xi32>, tensor<?x2xf32>, tensor<2x16x64xf32>,
              tensor<2x32x16xf32>) -> tensor<?x16xf32>
    ```
  }];
  let arguments = (ins
    2DTensorOf<[F32]>:$tokens,
    2DTensorOf<[I32]>:$expert_ids,
    2DTensorOf<[F32]>:$weights,
    3DTensorOf<[F32, AnySignlessInteger, AnyUnsignedInteger, F8E4M3FN]>:$up_weight,
    3DTensorOf<[F32, AnySignlessInteger, AnyUnsignedInteger, F8E4M3FN]>:$down_weight,
    Optional<2DTensorOf<[F32]>>:$up_bias,
    Optional<2DTensorOf<[F32]>>:$down_bias,
    Optional<3DTensorOf<[F32]>>:$up_scales,
    Optional<3DTensorOf<[AnyUnsignedInteger]>>:$up_zero_points,
    Optional<3DTensorOf<[F32]>>:$down_scales,
    Optional<3DTensorOf<[AnyUnsignedInteger]>>:$down_zero_points,
    ConfinedAttr<I64Attr, [IntPositive]>:$num_ranks,
    DenseI32ArrayAttr:$expert_ranks,
    DenseI32ArrayAttr:$expert_slots,
    MoE_ExpertAttr:$expert
  );
  let results = (outs 2DTensorOf<[F32]>:$result);
  let assemblyFormat = [{
    $tokens `,` $expert_ids `,` $weights `,` $up_weight `,` $down_weight
    (`up_bias` `(` $up_bias^ `:` type($up_bias) `)`)?
    (`down_bias` `(` $down_bias^ `:` type($down_bias) `)`)?
    (`up_scales` `(` $up_scales^ `:` type($up_scales) `)`)?
    (`up_zero_points` `(` $up_zero_points^ `:` type($up_zero_points) `)`)?
    (`down_scales` `(` $down_scales^ `:` type($down_scales) `)`)?
    (`down_zero_points` `(` $down_zero_points^ `:` type($down_zero_points) `)`)?
    `ranks` $num_ranks `experts` $expert_ranks `slots` $expert_slots
    `expert` custom<BareAttr>($expert) attr-dict
    `:` `(` type($tokens) `,` type($expert_ids) `,` type($weights) `,` type($up_weight) `,`
    type($down_weight) `)` `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

def MoE_DequantizeOp : MoE_Op<"dequantize", [Pure]> {
  let summary = "Stacked expert weights from group-wise quantized integers and scales";
  let description = [{
    `result[e, k, n] = (quantized[e, k, n] - zero_points[e, g, n]) * scales[e, g, n]` with
    `g = k / (K / G)`: the weights of `E` experts (`[E, K, N]`) held as integers with one
    scale per group of `K / G` consecutive rows of every column (`scales`, `[E, G, N]`).

    - Symmetric: signed integers (signless `i8`, or `i4` for int4, read as two's
      complement) and no zero points.
    - Asymmetric: unsigned integers (`ui8` or `ui4`) and `zero_points` of the same type,
      `[E, G, N]` like the scales.
    - fp8: `f8E4M3FN` values with block scales `[E, G, C]`, one per block of `K / G` rows
      and `N / C` columns (`C` divides `N`; DeepSeek-V3's 128 × 128 blocks):
      `result[e, k, n] = quantized[e, k, n] * scales[e, k / (K / G), n / (N / C)]`.

    `moec-quantize-expert-weights` and `moec-raise-ort-qmoe` make this op between
    quantized constants and a `moe.layer`; once the layer is decomposed,
    `moe.grouped_matmul` takes the integers, scales and zero points itself, so that the
    weights stay quantized in memory and are dequantized inside the GEMM.

    How many bytes 4-bit elements take in memory is the code generator's choice (the host
    packs two per byte, zero points too); at this level they are plain values in `[-8, 7]`
    (`i4`) or `[0, 15]` (`ui4`).

    Example:

    ```mlir
    %w = moe.dequantize %q scales(%s : tensor<8x2x256xf32>)
           : tensor<8x64x256xi8> -> tensor<8x64x256xf32>
    %v = moe.dequantize %u scales(%s : tensor<8x2x256xf32>)
           zero_points(%z : tensor<8x2x256xui4>)
           : tensor<8x64x256xui4> -> tensor<8x64x256xf32>
    ```
  }];
  let arguments = (ins
    3DTensorOf<[AnySignlessInteger, AnyUnsignedInteger, F8E4M3FN]>:$quantized,
    3DTensorOf<[AnyFloat]>:$scales,
    Optional<3DTensorOf<[AnyUnsignedInteger]>>:$zero_points
  );
  let results = (outs 3DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $quantized `scales` `(` $scales `:` type($scales) `)`
    (`zero_points` `(` $zero_points^ `:` type($zero_points) `)`)? attr-dict
    `:` type($quantized) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Run-time checks
//===----------------------------------------------------------------------===//

def MoE_CheckOp : MoE_Op<"check", [MemoryEffects<[MemWrite]>]> {
  let summary = "Stops the program with one line when a run-time condition fails";
  let description = [{
    When `condition` is false, the program prints `message`, with `{0}` and `{1}`
    replaced by the decimal values of the first and second of `values` (`{{` stands for
    `{`), as one line on stderr and exits with code 2 (an executable; docs/executables.md),
    writing no output. Legalization emits one for every relation between run-time values
    that an ONNX op's spec requires and the compiled code relies on (an index within its
    dimension, sizes that agree), naming the ONNX node in `message`; it is placed before
    the loops that rely on it. `moec --unchecked` compiles without them.

    The side effect keeps the check in place: it is neither removed nor moved past the
    code it guards. A check whose condition is the constant true folds away.

    Example:

    ```mlir
    moe.check %in_range, "node 'g' (Gather): index {0} is out of range for a dimension of size {1}"
      (%index, %size : i64, index)
    ```
  }];
  let arguments = (ins I1:$condition, StrAttr:$message,
                       Variadic<AnySignlessIntegerOrIndex>:$values);
  let assemblyFormat = [{
    $condition `,` $message (`(` $values^ `:` type($values) `)`)? attr-dict
  }];
  let hasVerifier = 1;
  let hasCanonicalizeMethod = 1;
}

def MoE_RefineShapeOp : MoE_Op<"refine_shape", [MemoryEffects<[MemWrite]>]> {
  let summary = "Gives a tensor the static dims a model declares, checked at run time";
  let description = [{
    The result is `source` with the more static type that the model declares for it (a
    node's output or a graph output declared `[4, 3]` where its inputs only make it
    `[?, 3]`). The compiled code relies on those dims: legalization checks each one that
    `source` leaves dynamic against the sizes that the producer of `source` computes from
    its own inputs, before the producer runs, so that a run-time input contradicting the
    declaration stops the program (`moe.check`) instead of making the producer loop over
    the declared size. `what` names the value in that one line, e.g.
    `node 'g' (GatherElements): output 0`.

    Example:

    ```mlir
    %y = moe.refine_shape %x, "node 'g' (GatherElements): output 0"
           : tensor<?x3xf32> -> tensor<4x3xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$source, StrAttr:$what);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $source `,` $what attr-dict `:` type($source) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // MOEC_DIALECT_MOE_MOEOPS_TD
