#ifndef MOEC_CODEGEN_GPU_PASSES_TD
#define MOEC_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerGroupedMatmulToMMA
    : Pass<"moec-lower-grouped-matmul-to-mma", "::mlir::ModuleOp"> {
  let summary = "Run bf16/f16 grouped matmuls as tensor-core kernels on the GPU";
  let description = [{
    Replaces every `moe.grouped_matmul` whose input and weights are bf16 or f16 (static
    weights, K a multiple of 16, result columns a multiple of 8, unquantized) by a
    `gpu.launch_func` of a tensor-core kernel: tiles staged through shared memory with
    `cp.async`, fragments loaded with `ldmatrix`, `nvvm.mma.sync` m16n8k16 with f32
    accumulation; one kernel per distinct configuration in the `gpu.module
    @moec_kernels` (created when absent, reused when present; the GPU pipeline attaches
    its target). The kernel implements the op's semantics as the host runtime does: the
    gather prologue through `sorted_ids`, padding and rows outside every segment written
    as zero, the bias, the activation and the gated epilogue `act(gate) * up` in f32.

    Block and warp tiles are chosen at compile time from the rows every expert is expected
    to see: `expected-rows-per-expert`, else the pairs of a `moe.permute` of static tokens
    over the experts, else the static slot count over the experts, else many (see
    docs/gpu-mma.md).

    For `chip=sm_90a` the kernel is a Hopper one instead: one warpgroup per block
    multiplies with
    `nvgpu.warpgroup.mma` (wgmma) from shared memory that TMA fills
    (`nvgpu.tma.async.load`, 128-byte swizzle) through up to four stages guarded by
    mbarriers; the host encodes the tensor maps (`nvgpu.tma.create.descriptor`). TMA
    cannot gather rows, so with `sorted_ids` a `linalg.generic` first gathers them into a
    contiguous buffer. sm_80, sm_89 and sm_90 take the `mma.sync` kernels.

    Runs on tensors, before bufferization, like `moec-lower-moe-kernels-to-runtime`: every
    operand reaches the kernel through a read-only `bufferization.to_buffer`, the result is
    a fresh `memref.alloc` returned by `bufferization.to_tensor restrict`. Other grouped
    matmuls are left for `moec-lower-moe-kernels-to-loops`. The ownership-based buffer
    deallocation takes the launches because moec declares the memory effects of
    `gpu.launch_func` (codegen/gpu/GpuLaunchMemoryEffects.cpp); `moec-gpu-lowering` runs this
    pass for its chip.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_80\"",
           "The GPU the kernels are for (sm_80 or newer)">,
    Option<"expectedRowsPerExpert", "expected-rows-per-expert", "int64_t", /*default=*/"0",
           "Rows each expert is expected to see, for the tiling (0: from the static shapes)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect", "::mlir::linalg::LinalgDialect", "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::nvgpu::NVGPUDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

def LowerGroupedMatmulToGEMV
    : Pass<"moec-lower-grouped-matmul-to-gemv", "::mlir::ModuleOp"> {
  let summary = "Lower decode-sized grouped matmuls to split-K loop kernels that stream the weights";
  let description = [{
    At decode sizes an expert sees a few rows, and its GEMM is a matrix-vector product
    whose time is reading the expert's weights once. This pass replaces every
    `moe.grouped_matmul` whose experts are expected to see at most
    `max-rows-per-expert` rows (f32, f16 or bf16, static unquantized weights whose
    columns fill 16-byte vectors) by two GPU-shaped loop nests on buffers, like those of
    `moec-lower-moe-kernels-to-loops` (which the host runs too):

    1. split-K: a block per (expert, K split, column group), a thread per 16-byte vector
       of weight columns (8 bf16/f16 or 4 f32), so a warp reads 512 contiguous bytes of a
       weight row per K step. A thread walks its K chunk once per pass over the expert's
       segment, accumulating in f32 registers for up to `rows-per-pass` rows at once, and
       stores its partial sums into a workspace `[splits, rows, N]`. Points of experts
       without rows do nothing.
    2. epilogue: a thread per result element sums the splits' partials in split order,
       adds the bias and applies the activation (and gating) as the host kernel does;
       padding slots and slots outside every segment are zero.

    Expected rows per expert come from `expected-rows-per-expert`, else from the static
    shapes as for `moec-lower-grouped-matmul-to-mma`. When the shapes do not tell (a
    dynamic token count), the choice is made at run time (`choose-at-run-time`, on by
    default): the op becomes an `scf.if` on tensors whose condition is the same estimate
    computed from the sizes (`tensor.dim`s, never tensor elements), with the nests planned
    for `max-rows-per-expert` rows in its then-branch and the original op, for the later
    lowerings, in its else-branch. The split count, unless
    `k-splits` is given, is the smallest that puts `blocks-to-fill` blocks of busy
    experts in flight, with K chunks of at least 32 rows (docs/gpu-decode.md). Other
    grouped matmuls are left to the later lowerings.
  }];
  let options = [
    Option<"maxRowsPerExpert", "max-rows-per-expert", "int64_t", /*default=*/"16",
           "Grouped matmuls whose experts expect at most this many rows are lowered">,
    Option<"expectedRowsPerExpert", "expected-rows-per-expert", "int64_t", /*default=*/"0",
           "Rows each expert is expected to see (0: from the static shapes)">,
    Option<"kSplits", "k-splits", "int64_t", /*default=*/"0",
           "Splits of the K dimension (0: chosen from the shape)">,
    Option<"blocksToFill", "blocks-to-fill", "int64_t", /*default=*/"528",
           "Blocks of busy experts the split count aims for (4 on each of an H200's 132 SMs)">,
    Option<"chooseAtRunTime", "choose-at-run-time", "bool", /*default=*/"true",
           "When static shapes do not tell the rows per expert, choose between these nests "
           "and the op at run time from the sizes (false: leave the op)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect", "::mlir::vector::VectorDialect"
  ];
}

def CheckMoEKernelsLowered : Pass<"moec-check-moe-kernels-lowered", "::mlir::ModuleOp"> {
  let summary = "Report kernel-level moe ops that no lowering took";
  let description = [{
    Fails with an error on every `moe.route`, `moe.permute`, `moe.grouped_matmul` and
    `moe.unpermute` still in the module. The GPU pipeline runs it where the kernel-level
    moe ops must have been lowered to loops or tensor-core kernels, so that a model whose
    MoE ops the target cannot lower yet stops with a diagnostic on the op rather than
    failing later in bufferization with a less telling message.
  }];
}

def PlaceBuffersOnDevice : Pass<"moec-place-buffers-on-device", "::mlir::ModuleOp"> {
  let summary = "Place each buffer in device, managed or host memory by who touches it";
  let description = [{
    Decides for every buffer of the entry function (its allocations and inputs) where it
    lives, from what touches its elements through any of its views (subview, reshape,
    collapse/expand, cast, the base buffer of `memref.extract_strided_metadata`):

    - kernels touch what a `gpu.launch_func` is passed (the pass runs after kernel
      outlining);
    - host code touches what any other op outside the kernels is given: loads, stores,
      strided copies, calls, control flow a buffer flows through, ..., except the ops that
      read no element (`memref.dim`, frees, views) and dense copies (identity layouts on
      both sides), which become stream copies.

    A buffer that kernels touch and host code does not is **device memory**
    (`gpu.alloc`, cuMemAlloc); one that both touch is **managed memory**
    (`gpu.alloc host_shared`); one that no kernel touches stays in **host memory**
    (`memref.alloc`). So a buffer host code touches is never device memory. Then:

    - a dense `memref.copy` with either side on the GPU becomes `gpu.memcpy`, and a
      `memref.dealloc` of a GPU buffer `gpu.dealloc`;
    - the entry function copies each input that kernels touch (host memory, the caller's)
      into a GPU buffer first (`gpu.memcpy`) and uses that instead;
    - each result on the GPU is copied into a plain `memref.alloc` (host memory, the
      `malloc` that the runtime's ABI hands to the caller, docs/runtime-abi.md) with
      `gpu.memcpy` (a strided result, managed, with `memref.copy`), and every GPU buffer the
      function owns is freed before it returns.

    The GPU ops are made in their synchronous form; `moec-order-gpu-work-on-stream` puts
    them on the stream. Constants are `moec-copy-constants-to-gpu`'s. Runs after
    bufferization and the ownership-based deallocation (every returned buffer is then owned
    by the entry function), before `moec-generate-entry-point`. An allocation that kernels
    touch but that has a layout, or a free whose allocation is not in sight, is an error.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the function the model runs">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::memref::MemRefDialect"];
}

def OrderGpuWorkOnStream : Pass<"moec-order-gpu-work-on-stream", "::mlir::func::FuncOp"> {
  let summary = "Queue GPU work on the stream; make the host wait only where it must";
  let description = [{
    The runtime runs all GPU work on one stream, in the order it is queued, so launches,
    stream copies, device allocations and frees need no host wait between them. In each
    block, this pass threads one `!gpu.async.token` through that work in program order
    (the first starts the chain with `gpu.wait async`) and ends the chain with a
    synchronous `gpu.wait` (the host waits for the stream) before:

    - the block's terminator (tokens do not cross blocks; in the entry function, the
      return hands the results to the caller after their copies to the host);
    - any op that may touch memory: an op with memory effects other than allocating its
      own result, an op with unknown effects (a call), an op with regions holding either.

    Ops without memory effects (sizes, index arithmetic, views) and fresh allocations need
    no wait: queued work cannot use what they touch. So a model whose host code touches no
    buffer between its launches waits once per run, at the return. Managed allocations
    (`gpu.alloc host_shared`) stay synchronous, as `gpu-to-llvm` requires.

    Expects the synchronous GPU ops that `moec-place-buffers-on-device` makes, after kernel
    outlining; a `gpu.wait` or an asynchronous op already there is an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def ExportGpuGraphBlocker : Pass<"moec-export-gpu-graph-blocker", "::mlir::ModuleOp"> {
  let summary = "Record whether a run of the entry function can be replayed as a CUDA graph";
  let description = [{
    Writes the global `moec_gpu_graph_blocker`: an empty string when the runtime may
    capture one run's GPU work into a CUDA graph and replay it for later runs with the
    same input shapes, else why not (docs/runtime-abi.md, "CUDA graphs"). On a replay no
    host code runs, so what host code computed at capture must depend on the input shapes
    and constants alone, and nothing it does between kernels may be needed again:

    - no buffer is in managed memory (`gpu.alloc host_shared`): host code would read or
      write it between kernels;
    - the host waits for the GPU once, in the entry function's block, with nothing after
      the wait but ops that touch no memory (or only free it) and the return: any other
      synchronous `gpu.wait` (mid-run, in a loop, in another function) is host code
      waiting for what kernels computed;
    - host code reads no input's elements: each argument of the entry function (through
      its views) goes only to stream copies (`gpu.memcpy`, which the runtime stages) and
      `memref.dim`.

    The first reason found is recorded, with the op and location it comes from. Runs
    after `moec-order-gpu-work-on-stream`, on the GPU target only.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"main\"",
           "Name of the function the model runs">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def CopyConstantsToGpu : Pass<"moec-copy-constants-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Read constant buffers through the GPU runtime's cached copies";
  let description = [{
    Gives the GPU work that reads a constant (kernel launches, the TMA tensor maps of sm_90a
    kernels, and stream copies, through any views) the memory that the runtime's `moec_rt_gpu_constant(host_pointer, bytes)`
    returns for the global's address: a device copy, made once per process and cached by
    host address. Host code keeps reading the global itself (a constant, so both copies
    agree). The global's address becomes the pointer into the mapped weights file when the
    weights live beside the program, so those weights reach the GPU the same way. The
    `memref.get_global` and the call move to the start of the function, ahead of any GPU
    work, so that the host never calls the runtime between queued launches.

    Only globals with a static shape and the identity layout are taken, which are all
    that bufferization makes of constants.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect"];
}

def MergeGpuModules : Pass<"moec-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel. This pass moves every
    function of every `gpu.module` into one module (`@moec_kernels` by default; kernels
    already in it stay), renaming kernels whose names clash, and points every
    `gpu.launch_func` at the moved kernel, so
    that a model is one PTX module: one load at startup, one target attribute, and one
    file for `moec --emit=ptx`.
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string", /*default=*/"\"moec_kernels\"",
           "Name of the merged gpu.module">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def TileParallelLoopsForGpu
    : Pass<"moec-tile-parallel-loops-for-gpu", "::mlir::func::FuncOp"> {
  let summary = "Tile single parallel loops into blocks of 256 threads";
  let description = [{
    Tiles every `scf.parallel` that is neither inside nor around another one (the loops
    that `convert-linalg-to-parallel-loops` makes) so that the tiles become GPU blocks and
    the points of a tile the threads of a block: 256 threads, over the innermost dimension
    of a 1-D loop and 16 × 16 over the innermost two of deeper ones, which
    `gpu-map-parallel-loops` (innermost first) maps to x and y, so that neighbouring
    threads touch neighbouring elements. The inner loop has constant bounds and guards
    the remainder with `scf.if`, as `convert-parallel-loops-to-gpu` needs.

    Nests that are already two levels deep (the MoE loop kernels) keep the shape they were
    built with; loops with reductions are left alone, as upstream's tiling does.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

#endif // MOEC_CODEGEN_GPU_PASSES_TD
