#ifndef MOEC_CODEGEN_COMMON_PASSES_TD
#define MOEC_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExportModelInfo : Pass<"moec-export-model-info", "::mlir::ModuleOp"> {
  let summary = "Describe the entry function's inputs and outputs for the runtime";
  let description = [{
    Writes the global `moec_model_info`: one line per input and output of the entry
    function with its name, dtype and dimensions, in the text format of
    docs/runtime-abi.md, plus the target. The runtime reads it to implement `--info` and to
    validate inputs. Names and dynamic-dimension names come from the arguments' and
    results' `onnx.name` and `onnx.dim_params` attributes; unnamed tensors are called
    `input_<i>` / `output_<i>`.

    Runs while the entry function still has tensor types, before bufferization.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the function the model runs">,
    Option<"target", "target", "std::string", /*default=*/"\"host\"",
           "Target written into the model info">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def GenerateEntryPoint : Pass<"moec-generate-entry-point", "::mlir::ModuleOp"> {
  let summary = "Wrap the entry function in the runtime's `moec_model_run` ABI";
  let description = [{
    Adds `moec_model_run(void **inputs, void **outputs)`, which loads every input's
    memref descriptor through `inputs[i]`, calls the entry function, and stores every
    result's descriptor through `outputs[i]` (docs/runtime-abi.md). The entry function
    itself becomes the private `moec_model_entry`, so that a model function named `main`
    never clashes with the executable's `main`.

    Runs after bufferization, when the entry function takes and returns memrefs with the
    identity layout. Every returned buffer must be owned by the caller: run the ownership-
    based buffer deallocation first, which clones results that alias inputs or globals.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the function the model runs">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def LowerRuntimeChecks : Pass<"moec-lower-runtime-checks", "::mlir::ModuleOp"> {
  let summary = "Lower `moe.check` to a call of the runtime when its condition fails";
  let description = [{
    Replaces every `moe.check` by an `scf.if` on the negated condition that calls the
    runtime's `moec_rt_check_failed(message, value0, value1)` (include/moec-runtime/kernels.h)
    with the message as a private string constant and the values as i64 (0 for an absent
    one). The runtime prints the formatted message as one line and ends the program with
    exit code 2; the code after the check never runs with the values that failed it.

    Runs on host code, after bufferization and before scf is lowered to cf.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def LowerMoEKernelsToLoops : Pass<"moec-lower-moe-kernels-to-loops", "::mlir::ModuleOp"> {
  let summary = "Lower the kernel-level moe ops to GPU-mappable parallel loops on buffers";
  let description = [{
    Replaces `moe.route`, `moe.permute`, `moe.grouped_matmul` and `moe.unpermute` by
    loop nests with the semantics of the host runtime's kernels (lib/runtime/cpu/MoERouting.cpp,
    lib/runtime/cpu/MoEGroupedMatmul.cpp), shaped for a GPU: each kernel is an outer
    `scf.parallel` over blocks, whose bounds are computed before it, around an inner
    `scf.parallel` over a constant number of threads (guarded with `scf.if` for the
    remainder), with only sequential `scf.for` loops below. Upstream
    `gpu-map-parallel-loops` and `convert-parallel-loops-to-gpu` turn every nest into one
    `gpu.launch`; on the host the same loops run sequentially, which tests their numerics
    without a GPU.

    - `moe.route`: a thread per token; scores are recomputed from the logits, the top-k
      lists (of experts and, group-limited, of groups) live in registers. A route with a
      router (the router fusion) first computes its logits into a buffer, a thread per
      logit (kernel `moe_route_logits`), as the unfused router matmul would.
    - `moe.permute`: a stable counting sort in chunks of pairs, without atomics:
      per-chunk histograms, per-expert prefix sums over the chunks, one thread laying out
      the padded segments, then a scatter per chunk in pair order.
    - `moe.grouped_matmul`: a block per tile of rows by result columns, a thread per
      result element (gate and up column for gated epilogues) with the K loop sequential;
      a thread finds its row's expert by a binary search of the offsets, and padding rows
      and rows past the used length write zeros without multiplying.
    - `moe.unpermute`: an atomic max records each pair's slot (the last slot wins, as on
      the host), then a thread per result element sums the token's weighted rows.

    Runs on tensors, as `moec-lower-moe-kernels-to-runtime` does: operands are read
    through `bufferization.to_buffer`, results are fresh `memref.alloc` buffers returned by
    `bufferization.to_tensor restrict`. Values are f32, f16 or bf16 (computed in f32), ids
    i32. fp8 (`f8E4M3FN`) expert weights are decoded by integer arithmetic on their bits
    (`arith.extf` from fp8 has no LLVM lowering) and multiplied by their block's scale as
    they are read; integer-quantized weights and capacity-limited routing are errors at
    the op.
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", /*default=*/"256",
           "Threads of a block in the kernels with a thread per item">,
    Option<"matmulTileRows", "matmul-tile-rows", "int64_t", /*default=*/"4",
           "Rows of the grouped matmul's tile, one block each">,
    Option<"matmulTileColumns", "matmul-tile-columns", "int64_t", /*default=*/"64",
           "Result columns of the grouped matmul's tile (a thread each, per row)">,
    Option<"pairsPerChunk", "pairs-per-chunk", "int64_t", /*default=*/"256",
           "(token, slot) pairs one thread of moe.permute counts and scatters">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def LowerDynamicExpandShape : Pass<"moec-lower-dynamic-expand-shape", "::mlir::ModuleOp"> {
  let summary = "Rewrite memref.expand_shape with several dynamic sizes in one group";
  let description = [{
    Upstream `expand-strided-metadata` (LLVM 22.1) crashes on a `memref.expand_shape` that
    splits one dimension into several dynamic ones (e.g. `[?] -> [?, ?]`), which models with
    dynamic batch and sequence dimensions produce whenever they reshape. This pass rewrites
    exactly those into `memref.reinterpret_cast` with the strides computed from the source's
    strides and the output sizes, and leaves every other expand_shape to upstream.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def FuseElementwiseOps : Pass<"moec-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuse chains of elementwise linalg ops into single loops";
  let description = [{
    Fuses an elementwise `linalg.generic` into its elementwise consumer when it has no
    other use, so that a chain such as bias-add, GELU and scaling runs as one loop over
    memory instead of one loop per op.

    Unlike upstream `linalg-fuse-elementwise-ops`, it does not propagate reshapes through
    named ops: that would turn `linalg.matmul` on collapsed activations into a generic
    contraction that the runtime's GEMM kernel can no longer take.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def RewriteMatmulsAsGroupedMatmul
    : Pass<"moec-rewrite-matmuls-as-grouped-matmul", "::mlir::func::FuncOp"> {
  let summary = "Run bf16/f16 matmuls on the grouped matmul kernels, accumulating in f32";
  let description = [{
    A bf16 or f16 `linalg.matmul` accumulates in its result type: over a long dot product
    16 bits keep few digits, where ONNX runtimes and PyTorch accumulate in f32. This pass
    rewrites each zero-initialized `linalg.matmul` whose operands and result share one
    16-bit float type into a `moe.grouped_matmul` with one expert (the weights get a unit
    expert dimension, the segment is every row), and each `linalg.batch_matmul` with a
    static batch into one with an expert per batch element (the rows of A stacked, equal
    segments, the result reshaped back). The grouped matmul kernels accumulate in f32 and
    round once; on GPU targets they run on tensor cores
    (`moec-lower-grouped-matmul-to-mma`). f32 matmuls, transposed or broadcast operand
    maps, and matmuls that accumulate into a non-zero tensor are left alone.

    Runs on tensors after `tosa-to-linalg`, for the host and GPU targets alike.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::tensor::TensorDialect", "::moec::moe::MoEDialect"
  ];
}

def ProtectEntryInputs : Pass<"moec-protect-entry-inputs", "::mlir::ModuleOp"> {
  let summary = "Keep bufferization from writing into the caller's input buffers";
  let description = [{
    Marks every argument of the entry function `bufferization.writable = false`, so that
    one-shot bufferization copies an input before any in-place update instead of writing
    into memory the caller owns (docs/runtime-abi.md: inputs are read-only to the model).
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the function the model runs">
  ];
}

#endif // MOEC_CODEGEN_COMMON_PASSES_TD
