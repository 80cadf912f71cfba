#ifndef MOEC_PASSES_ONNX_PASSES_TD
#define MOEC_PASSES_ONNX_PASSES_TD

include "mlir/Pass/PassBase.td"

def InferTypes : Pass<"moec-infer-types", "::mlir::ModuleOp"> {
  let summary = "Infer every onnx.node's result type from its inputs, op by op and opset by opset";
  let description = [{
    moec's own type and shape inference, so that a model compiles whatever the installed
    ONNX library knows (Debian's ONNX 1.12 stops at opset 17 and leaves many tensors of
    today's exports without a rank). Each op's rule (passes/onnx/*Types.cpp) computes its
    results' element type, rank and static dims from its inputs' types, its attributes and
    its constant inputs, following the op's form in the model's opset. Small integer tensors
    carry their contents as far as they are known, so that shapes computed from shapes
    (`Shape` → `Gather` → `Concat` → `Reshape`, torch's `expand(-1, ...)` through `Where`)
    give ranks and static dims. The pass sweeps the module, subgraphs included, until
    nothing changes.

    Types only become more precise: `!onnx.any` or unranked results become ranked, dynamic
    dims static where the inputs fix them; dims that only the run knows (named ones such as
    "batch" among them) stay dynamic. A result whose declared type contradicts what its
    inputs give is an error on the node. The graph's outputs keep their declared types
    (through a `tensor.cast` where the value's type is more precise, a `moe.refine_shape`
    where the declared type is); an output declared without a rank takes the inferred
    type.

    With `check-declared-dims` (the kernel stage, after raising), a node whose declared
    type has static dims that its inputs leave dynamic computes with the inferred type,
    and a `moe.refine_shape` gives its users the declared one: legalization checks those
    dims at run time, so that inputs contradicting the declaration stop the program instead
    of making the node loop over the declared size.

    Example: torch's `x.reshape(-1, hidden)` after ONNX 1.12 left it unranked:

    ```mlir
    %s = onnx.node "Shape"(%x) : (tensor<?x?x64xf32>) -> tensor<3xi64>
    %i = onnx.constant "i" dense<2> : tensor<1xi64>
    %d = onnx.node "Gather"(%s, %i) {node_attrs = {axis = 0 : i64}} : (tensor<3xi64>, tensor<1xi64>) -> tensor<1xi64>
    %m = onnx.constant "m" dense<-1> : tensor<1xi64>
    %t = onnx.node "Concat"(%m, %d) {node_attrs = {axis = 0 : i64}} : (tensor<1xi64>, tensor<1xi64>) -> !onnx.any
    %y = onnx.node "Reshape"(%x, %t) : (tensor<?x?x64xf32>, !onnx.any) -> tensor<*xf32>
    ```

    becomes `%t : tensor<2xi64>` and `%y : tensor<?x64xf32>`.
  }];
  let options = [
    Option<"checkDeclaredDims", "check-declared-dims", "bool", /*default=*/"false",
           "Compute with the inferred type where a node's declared dims are more static, "
           "refining it through a checked moe.refine_shape">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect", "::moec::moe::MoEDialect"];
}

def SimplifyGraph : Pass<"moec-simplify-graph", "::mlir::ModuleOp"> {
  let summary = "Fold shape computations and bypass no-op nodes, so that raising sees one form";
  let description = [{
    Exporters spell one computation many ways; raising matches what a subgraph computes, on
    the graph with these differences folded away (run after `moec-infer-types`):

    - an integer node whose result the type rules know element by element (a `Shape` of
      static dims, and what `Gather`, `Concat`, `Slice`, `Unsqueeze`, arithmetic, ... compute
      from such values and constants) becomes an `onnx.constant`;
    - `Identity`, a `Cast` or `CastLike` to the input's own type, a `Reshape`, `Squeeze`,
      `Unsqueeze` or `Flatten` whose result has the input's type when that type fixes the
      shape (at most one dynamic dim), and an `Expand` of a static tensor to its own shape
      are bypassed;
    - a reshape of a reshape reads the first one's input: `Reshape(Reshape(x, a), b)` is
      `Reshape(x, b)` where `b` copies no dim of its input (no 0, or `allowzero`), and a chain
      that gives `x` its own shape back is `x` (`Squeeze(Unsqueeze(x, 1), 1)`);
    - a node computing what an earlier node of its block computes (same op, attributes,
      inputs and types; names aside) is replaced by it;
    - what is left unused is erased.

    Example: TorchScript's `chunk(2, dim=-1)` of a `[T, 32]` tensor, the half computed from
    the shape,

    ```mlir
    %s = onnx.node "Shape"(%h) : (tensor<?x32xf32>) -> tensor<2xi64>
    %d = onnx.node "Gather"(%s, %last) {node_attrs = {axis = 0 : i64}} : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
    %p = onnx.node "Add"(%d, %one) : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
    %half = onnx.node "Div"(%p, %two) : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
    ```

    becomes `%half = onnx.constant "..." dense<16> : tensor<1xi64>`.
  }];
}

def ExpandContribOps : Pass<"moec-expand-contrib-ops", "::mlir::ModuleOp"> {
  let summary = "Rewrite onnxruntime's fused contrib ops into the ONNX nodes they fuse";
  let description = [{
    onnxruntime's transformer optimizer (through transformers' exporter) and
    onnxruntime-genai's model builder write fused ops of onnxruntime (domain
    `com.microsoft`, and SimplifiedLayerNormalization, which onnxruntime registers in the
    default domain) around MoE layers. This pass rewrites each into the default-domain
    nodes that compute the same, following the op's definition in onnxruntime's
    ContribOperators.md, so that type inference and legalization need to know only ONNX's
    ops:

    - SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization: root-mean-square
      normalization (Mul, ReduceMean, Add, Sqrt, Reciprocal, Mul), of the sum of input,
      skip and bias for the latter, in float32 as stash_type 1 asks;
    - SkipLayerNormalization: Add, then LayerNormalization;
    - Gelu, BiasGelu, FastGelu, QuickGelu: their formulas (Erf, Tanh, Sigmoid), of the
      input plus the bias where they take one;
    - FusedMatMul: MatMul of the operands with their last two dims transposed as asked,
      times alpha;
    - RotaryEmbedding: the cos and sin caches gathered at the positions, the rotary dims
      rotated in halves or interleaved pairs (Slice, Mul, Sub, Add, Concat);
    - MultiHeadAttention: per head, softmax(scale · Q Kᵀ + attention_bias) V;
    - GroupQueryAttention (onnxruntime-genai's builder, with past and present key/value
      caches): each row's new tokens placed after its `seqlens_k + 1 - S` cached ones,
      rotated there when `do_rotary`, attending causally (within `local_window_size`) to the
      cached and new keys of their KV head, with the `head_sink` logits in the softmax; the
      present caches gathered from the past and new entries. With `sliding_window_cache`
      the caches hold only the latest positions, as onnxruntime's windowed KV cache lays
      them out (docs/importer.md);
    - CausalConvWithState (Gated DeltaNet's and Mamba's causal depthwise convolution with a
      carried state): the past state (or zeros) then the input, one Slice and Mul per
      kernel tap (`dilation` apart), plus the bias, through SiLU for activation silu or
      swish; the next state the last (k - 1) · dilation positions; `channels_last` inputs
      reshaped and transposed to channels first and back. onnxruntime's CPU kernel takes
      ndim 1 only and no `state_window`, and so does moec;
    - LinearAttention: ONNX's LinearAttention (opset 27), which legalization takes, with
      the query heads of inverse GQA (more KV than query heads, as Qwen3.5 has) and fewer
      key heads than KV heads repeated to the KV heads, as onnxruntime's kernel reads them;
    - LinearAttentionGate (Gated DeltaNet's gates): decay_scale · Softplus(a + dt_bias)
      and Sigmoid(b), in float32 (Cast, CastLike) as onnxruntime computes them;
    - GatedRMSNorm (Gated DeltaNet's output norm): the input [..., H · C] reshaped to
      [..., H, C] (C the scale's length), RMS-normalized over C and scaled, reshaped back
      and multiplied by the gate through SiLU (silu, swish) or Sigmoid, in float32.

    The new nodes are named after the node they replace (`NAME/OpType`), and the last of
    each keeps the replaced result's type; moec-infer-types infers the others. A node in a
    form the expansion does not support (e.g. MultiHeadAttention with past key and value,
    a used training statistic, or GroupQueryAttention's position ids)
    stops the pass with an error that names it. Other ops, `com.microsoft.MoE` among them,
    are left to the passes that raise them.

    Example:

    ```mlir
    %y = onnx.node "FusedMatMul"(%a, %b) {domain = "com.microsoft", node_attrs = {alpha = 2.0 : f32, transB = 1 : i64}}
        : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
    ```

    becomes a `Transpose` of `%b`, a `MatMul` and a `Mul` by 2.
  }];
}

def ExpandFunctionOps : Pass<"moec-expand-function-ops", "::mlir::ModuleOp"> {
  let summary = "Rewrite ONNX's newer function ops into the older ONNX nodes of their function";
  let description = [{
    ONNX defines some ops of opset 23 and later as functions of older ops. LLM exports use
    them; this pass rewrites each into the nodes its function has, so that legalization
    needs to know only the older ops:

    - Swish (24), SwiGLU (28): x · sigmoid(alpha · x), times B for SwiGLU;
    - RMSNormalization (23): root-mean-square normalization over the dims from `axis` on
      (Mul, ReduceMean, Add, Sqrt, Reciprocal, Mul), in float32 when `stash_type` is 1,
      times scale;
    - RotaryEmbedding (23): the cos and sin caches gathered at `position_ids` (or taken
      as given without them), the first `rotary_embedding_dim` entries of each head rotated
      in halves or interleaved pairs (Slice, Mul, Sub, Add, Concat), of 4-D inputs or of
      3-D ones split into `num_heads`;
    - TensorScatter (24): a ScatterElements of the update into the cache along `axis`,
      from each row's write index, modulo the cache's length in `circular` mode;
    - Attention (23): see docs/legalization.md;
    - CausalConvWithState (27): as onnxruntime's (moec-expand-contrib-ops) without its
      `dilation` and `channels_last`.

    The new nodes are named after the node they replace (`NAME/OpType`), and the last of
    each keeps the replaced result's type; moec-infer-types infers the others. A node in a
    form the expansion does not support (an unknown head size, an odd
    `rotary_embedding_dim`, an unknown `mode`) stops the pass with an error that names it.
    `moec --list-supported-ops` lists these ops beside the ones legalization takes.

    Example:

    ```mlir
    %y = onnx.node "Swish"(%x) {node_attrs = {alpha = 2.0 : f32}} : (tensor<4xf32>) -> tensor<4xf32>
    ```

    becomes a `Mul` by 2, a `Sigmoid` and a `Mul` by `%x`.
  }];
}

def ExpandQuantizedOps : Pass<"moec-expand-quantized-ops", "::mlir::ModuleOp"> {
  let summary = "Dequantize the weights of quantized ONNX and onnxruntime ops at run time";
  let description = [{
    Models that onnxruntime's tools quantize keep their weights as packed integers with
    scales (and zero points) beside them. This pass rewrites each quantized op into
    default-domain nodes that unpack and dequantize those weights when the program runs and
    then compute in floating point, so that the weights file keeps the packed integers and
    legalization needs to know only ONNX's ops. Integers become floats by `CastLike` to the
    scales; sub-byte values are unpacked, lowest bits first, with `Div`, `Floor`, `Mul` and
    `Sub` on the byte's value; a dequantized value is `(q - zero_point) · scale`, with the
    block's scale and zero point repeated over its block (`Unsqueeze`, `Expand`, `Reshape`,
    `Slice`). Ops, as onnxruntime's ContribOperators.md and the ONNX spec define them:

    - `com.microsoft.MatMulNBits` (2, 4 or 8 bits, blocks along K, uint8 or float zero
      points, default 2^(bits-1), bias): `MatMul` with the dequantized `[K, N]` weights;
    - `com.microsoft.GatherBlockQuantized` (int4 or uint4 initializers, or uint8 with 4 or
      8 bits, gathered along axis 0 and quantized along the last): the rows are gathered
      while still packed, then dequantized;
    - `com.microsoft.QMoE` (integer weights of 2, 4 or 8 bits `[E, N, K · bits / 8]`,
      per-row or block-wise scales, zero points; relu, gelu, silu, identity and SwiGLU in
      all three layouts): every expert runs on every token and the top-k routing weights
      (softmax of router_probs, renormalized when asked) pick the results, as a dense
      `MatMul` over the expert axis;
    - `DequantizeLinear` (per tensor, per axis and, from opset 21, blocked; 8-, 16- and
      32-bit integers, and int4/uint4 initializers, whose bytes are reread as uint8).

    An op in a form this pass does not support (MatMulNBits with `g_idx`, QMoE's float8 and
    float4 weights, prepacked layouts, fc3 without SwiGLU or SparseMixer routing, float8
    DequantizeLinear, a 4-bit tensor that is not an initializer) stops the pass with an
    error that names the node.

    Example:

    ```mlir
    %y = onnx.node "MatMulNBits"(%a, %b, %scales) {domain = "com.microsoft", node_attrs = {K = 64 : i64, N = 8 : i64, bits = 4 : i64, block_size = 32 : i64}}
        : (tensor<3x64xf32>, tensor<8x2x16xui8>, tensor<16xf32>) -> tensor<3x8xf32>
    ```

    becomes the bytes of `%b` unpacked into `[8, 2, 32]` 4-bit values, less 8, times
    their block's scale, reshaped to `[8, 64]`, transposed, and a `MatMul` of `%a` by them.
  }];
}

#endif // MOEC_PASSES_ONNX_PASSES_TD
