#ifndef MOEC_PASSES_OPTIMIZE_QUANTIZE_PASSES_TD
#define MOEC_PASSES_OPTIMIZE_QUANTIZE_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeExpertWeights : Pass<"moec-quantize-expert-weights"> {
  let summary = "Quantize the constant expert weights of moe.layer to int8, int4 or fp8";
  let description = [{
    Replaces the constant `up_weight` and `down_weight` (`[E, K, N]`, f32) of every
    `moe.layer` by integer constants, scales and (asymmetric) zero points that a
    `moe.dequantize` turns back into the layer's weights: weight-only, group-wise along K.
    For every expert, every group of `group-size` consecutive rows of K and every column n,
    with `scheme=symmetric` (the default; signed `i8` / `i4`):

    ```
    scale = max |w[e, k, n]| over the group / qmax        (qmax: 127 for int8, 7 for int4)
    q[e, k, n] = clamp(round_half_even(w[e, k, n] / scale), -qmax - 1, qmax)  (0 if scale = 0)
    ```

    and with `scheme=asymmetric` (unsigned `ui8` / `ui4`, a zero point per group and
    column; the range always holds 0, so that zero weights stay exactly zero):

    ```
    lo = min(0, min w over the group), hi = max(0, max w over the group)
    scale = (hi - lo) / levels                            (levels: 255 for int8, 15 for int4)
    zp = clamp(round_half_even(-lo / scale), 0, levels)                        (0 if scale = 0)
    q[e, k, n] = clamp(round_half_even(w[e, k, n] / scale) + zp, 0, levels)    (0 if scale = 0)
    ```

    all in f32, so that numpy's `np.rint(w / scale)` gives the same integers.

    With `fp8`, the weights become `f8E4M3FN` values with one f32 scale per block of
    `group-size` rows and `group-size` columns (DeepSeek-V3's format at the default 128;
    a K or N below `group-size` is one block, one that it does not divide leaves the
    weight f32, with a warning), `scales` `[E, K / group-size, N / group-size]`:

    ```
    scale = max |w| over the block / 448                   (448: e4m3fn's largest value)
    q[e, k, n] = e4m3fn(w[e, k, n] / scale), rounded to nearest even    (0 if scale = 0)
    ```

    the quotient in f32, converted as ml_dtypes' `float8_e4m3fn` converts it.
    `bits` and `scheme` do not apply. The router,
    the biases, the shared experts and everything outside the layers keep their
    precision; weights that are not constants stay as they are. A K below `group-size` is
    one group; a K that `group-size` does not divide leaves that weight in f32, with a
    warning at the layer.

    The quantized values are plain integer tensors (`i8` / `i4`, or `ui8` / `ui4` with
    zero points) with their scales (and zero points) as separate `[E, K / group-size, N]`
    tensors, not MLIR `quant` types: a
    sub-channel `!quant.uniform` holds its scales inside the type, so a Mixtral layer's
    ~360k scales per weight would be uniqued in the context and printed inline, and dense
    resources (how weights are held, never copied) cannot be type parameters. The same
    integers and scales are what `moe.grouped_matmul` takes once the layer is decomposed,
    so that the weights stay quantized in memory (int4 packed two per byte on the host)
    and are dequantized inside the GEMM.

    With `report`, prints one line per quantized layer on stderr (`moec --report`): each
    weight's bytes before and after (int4 counted packed, scales included), and the
    relative L2 error `|y_q - y| / |y|` of the experts' output on 8 random normal tokens
    (fixed seed) that every expert takes with weight 1 / E, biases left out. The router is
    not quantized, so routing picks the same experts before and after; the probe needs no
    calibration data. It runs the experts in double precision on the host (seconds for a
    Mixtral-sized layer).

    With `config` (`moec --quantize-config=FILE`), a JSON file overrides the type (`int8`,
    `int4`, `fp8`), `group-size` and `scheme` for the whole model, for layers named after their ONNX node
    (as the report names them) and for a layer's `up_weight` or `down_weight`; `"none"`
    keeps f32:

    ```json
    {"type": "int8", "group": 64,
     "layers": {"/layers.0/moe/TopK": {"type": "int4", "scheme": "asymmetric",
                                       "down_weight": {"type": "none"}}}}
    ```

    Unknown keys and values are errors; a layer name that no layer has is a warning.

    Runs in moec's Optimize stage, for `moec --quantize=int8|int4|fp8`
    (`--quantize-scheme=symmetric|asymmetric`).

    Example (int8, group-size 32):

    ```mlir
    %y = moe.layer %x, %w_up, %w_down ... : (tensor<?x64xf32>, tensor<8x64x256xf32>, ...)
    // becomes
    %q = arith.constant dense<...> : tensor<8x64x256xi8>
    %s = arith.constant dense<...> : tensor<8x2x256xf32>
    %w = moe.dequantize %q scales(%s : tensor<8x2x256xf32>)
           : tensor<8x64x256xi8> -> tensor<8x64x256xf32>
    %y = moe.layer %x, %w, ...
    ```
  }];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"8",
           "Bits of every quantized weight: 8 (int8) or 4 (int4)">,
    Option<"fp8", "fp8", "bool", /*default=*/"false",
           "fp8 e4m3 weights with a scale per block of group-size x group-size">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"128",
           "Rows of K that share one scale per column">,
    Option<"schemeName", "scheme", "std::string", /*default=*/"\"symmetric\"",
           "symmetric (signed integers) or asymmetric (unsigned, with a zero point per "
           "group)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print one line per layer on stderr: the bytes of each weight before and after, "
           "and the relative L2 error of the experts' output on a random probe">,
    Option<"configPath", "config", "std::string", /*default=*/"",
           "JSON file of per-layer and per-weight overrides of bits and group-size "
           "(docs/quantization.md)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::moec::moe::MoEDialect"];
}

#endif // MOEC_PASSES_OPTIMIZE_QUANTIZE_PASSES_TD
