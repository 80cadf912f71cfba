#ifndef MOEC_CODEGEN_HOST_PASSES_TD
#define MOEC_CODEGEN_HOST_PASSES_TD

include "mlir/Pass/PassBase.td"

def UseRuntimeGemm : Pass<"moec-use-runtime-gemm", "::mlir::ModuleOp"> {
  let summary = "Run f32 matrix products on the runtime's GEMM kernel";
  let description = [{
    Replaces every `linalg.matmul` on f32 memrefs whose rows are contiguous by a call to
    the runtime's `moec_rt_sgemm` (include/moec-runtime/kernels.h): a packed, cache-
    blocked, register-tiled kernel that runs on the runtime's thread pool. As IREE does
    with its micro-kernels, the compiler leaves the one op that dominates the run time to
    a hand-tuned library routine instead of generating naive loops for it.

    Batched products get the same kernel: a contraction (any linalg op whose body is a
    multiply-add) with leading batch loops and the maps `(b..., m, k)`, `(b..., k, n)` ->
    `(b..., m, n)` — what a batched ONNX MatMul (attention scores and values) legalizes
    to — becomes a loop nest over the batch dimensions with one `moec_rt_sgemm` call on
    rank-reduced subviews per batch element.

    Runs after bufferization; other element types, layouts and indexing maps (transposed or
    broadcast operands) keep the generic lowering.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def LowerMoEKernelsToRuntime
    : Pass<"moec-lower-moe-kernels-to-runtime", "::mlir::ModuleOp"> {
  let summary = "Run the kernel-level moe ops on the runtime's MoE kernels";
  let description = [{
    Replaces `moe.route`, `moe.permute`, `moe.grouped_matmul` and `moe.unpermute` by calls
    to `moec_rt_moe_*` (include/moec-runtime/kernels.h): hand-written kernels for the
    host, multithreaded on the runtime's pool, with the grouped matmul streaming the chosen
    experts' weights at one token and running the packed GEMM at many. A `moe.route` with
    a router (the router fusion) calls `moec_rt_moe_route_tokens_f32`, which computes each
    token's logits as it routes it.

    Runs on tensors, before bufferization: every tensor operand reaches the kernel as a
    pointer into a read-only `bufferization.to_buffer` with the identity layout (one-shot
    bufferization copies a strided operand into one), every result is a fresh
    `memref.alloc` sized with `tensor.dim` that the kernel fills, returned to the tensor
    world by `bufferization.to_tensor restrict`. Attributes (k, scoring, activation,
    alpha and limit, block size) become constant arguments.

    A grouped matmul with quantized weights (`scales`, and `zero_points` for unsigned
    ones) calls `moec_rt_moe_grouped_matmul_quantized_f32`, which expands them in
    registers: `i8` weights are passed as they are, constant `ui8` ones as the same bytes;
    constant 4-bit weights (`i4`, `ui4`) are packed here, two rows per byte
    (`[E, (K + 1) / 2, N]` i8, the even row in the low nibble), into a new constant, so the
    program holds the packed bytes only. Zero points (`[E, G, N]`) are passed and packed
    the same way, two groups per byte for `ui4`. Constant fp8 (`f8E4M3FN`) weights call
    `moec_rt_moe_grouped_matmul_fp8_f32` with their bytes and `[E, G, C]` block scales.

    The kernels take f32 values and i32 ids, f32 or (as above) 8-bit / constant 4-bit
    weights, and dropless routing; the pass leaves any other op as it is, for `moec-lower-moe-kernels-to-loops`, which runs
    after it in the host pipeline (and there bf16 and f16 ops run as loops).
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect", "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect", "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect", "::mlir::tensor::TensorDialect"
  ];
}

def ApproximateMathFunctions
    : Pass<"moec-approximate-math-functions", "::mlir::ModuleOp"> {
  let summary = "Compute f32 exp, log, tanh and erf with polynomials instead of libm calls";
  let description = [{
    Rewrites the f32 (and, through f32, f16 and bf16) `math.exp`, `math.expm1`,
    `math.log`, `math.log1p`, `math.log2`, `math.tanh` and `math.erf` ops into upstream
    MLIR's polynomial approximations (`populateMathPolynomialApproximationPatterns`):
    plain arithmetic, with the special values (overflow to infinity, underflow to zero,
    NaN) kept. Left as libm calls, each element of a softmax, SiLU, sigmoid or GELU is an
    opaque scalar call that stops LLVM from vectorizing the loop around it; as
    arithmetic, the loop vectorizes to the host's widest vectors.

    The approximations are within a few ulps of libm (the ONNX node tests and the
    onnxruntime comparisons hold with it); f64 keeps libm. Optional: `--disable-pass`
    with this pass's name keeps every call to libm.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def ReassociateReductions : Pass<"moec-reassociate-reductions", "::mlir::ModuleOp"> {
  let summary = "Let float reductions be computed in any order, so that LLVM vectorizes them";
  let description = [{
    Adds the `reassoc` fast-math flag to the op that combines each result of a linalg op
    with reduction loops into its accumulator: the `arith.addf` of a ReduceSum, a mean,
    softmax's denominator, a norm's sum of squares or a contraction left as a generic; the
    `arith.mulf` of a product; the `arith.maximumf` of a max. Nothing else in the body
    changes (the squares, the exponentials keep their flags). Lowered to loops, a float
    reduction is a chain of dependent additions that LLVM's loop vectorizer must keep in
    order; with `reassoc` it keeps one partial sum per vector lane (and several vectors)
    and adds them at the end, as onnxruntime's and numpy's sums do.

    What changes in numerics: the order in which sums (and products) are added, nothing
    else. A sum of n terms in any order is within `(n - 1) * 2^-24 * sum(|x|)` of the exact
    sum in f32 (the sequential loop's bound; the vectorized order's, about
    `(n / lanes + log2(lanes)) * 2^-24 * sum(|x|)`, is smaller), so the results differ from
    the sequential loop's by at most about `2 * n * 2^-24 * sum(|x|)`. In practice far less:
    row sums of 4096 standard normal f32 values (sum(|x|) ~ 3300) differ from the
    sequential loop's by up to 2.0 * 2^-24 * sum(|x|) (3.8e-4 absolute), and are 10x closer
    to the exact sum (0.21 * 2^-24 * sum(|x|) at most, against 2.0 sequentially), as
    onnxruntime's vectorized sums are. Max and min do not change (they are exact in any
    order); NaN and infinities propagate as before (`reassoc` says nothing about special
    values). Both ONNX node-test suites and the onnxruntime comparisons pass with it.

    Optional: `--disable-pass` with this pass's name keeps every reduction in order.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

#endif // MOEC_CODEGEN_HOST_PASSES_TD
