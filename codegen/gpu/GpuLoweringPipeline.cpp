//===- GpuLoweringPipeline.cpp - Tensors to LLVM with kernels for CUDA ----===//
//
// The GPU target's lowering (docs/gpu-codegen.md): the tensor level as on the host, loops
// mapped to blocks and threads, every kernel in one gpu.module lowered through NVVM to PTX,
// and the host side calling the `mgpu*` runtime functions, with each buffer in device,
// managed or host memory by what touches it and the GPU work queued on one stream.
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/Common/Passes.h"
#include "moec/Codegen/GPU/CudaTarget.h"
#include "moec/Codegen/GPU/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

/// The passes that lower the kernels inside `@moec_kernels` to NVVM.
static void buildKernelToNVVMPipeline(OpPassManager &pm) {
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  // The tensor-core kernels' nvgpu ops (mma.sync, ldmatrix, cp.async) to NVVM.
  kernels.addPass(createConvertNVGPUToNVVMPass());
  // Translation to LLVM IR takes no scf: structured control flow goes to cf first.
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  // Math becomes libdevice's __nv_* functions, which serialization links.
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  // NVVM ops written as inline PTX (mbarrier waits of the sm_90a kernels) to LLVM.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
}

void moec::buildGpuLoweringPipeline(OpPassManager &pm, const GpuLoweringOptions &options) {
  buildTensorLevelPipeline(pm);
  // bf16/f16 grouped matmuls become launches of tensor-core kernels (in @moec_kernels);
  // the other kernel-level moe ops become parallel loop nests shaped for blocks and
  // threads, each named for its kernel; an op neither takes stops the compile with an
  // error on it.
  // Decode-sized grouped matmuls (few rows per expert) first: split-K loop kernels that
  // stream the weights (docs/gpu-decode.md).
  pm.addPass(createLowerGroupedMatmulToGEMV());
  LowerGroupedMatmulToMMAOptions mmaOptions;
  mmaOptions.chip = options.chip;
  pm.addPass(createLowerGroupedMatmulToMMA(mmaOptions));
  pm.addPass(createLowerMoEKernelsToLoops());
  pm.addPass(createCheckMoEKernelsLowered());
  // The nests become launches (the innermost dimension on x, so that neighbouring threads
  // touch neighbouring elements) before bufferization, whose canonicalizer would fold each
  // grid and its block into one loop, losing the nests' shape and their kernels' names.
  GpuMapParallelLoopsPassOptions mappingOptions;
  mappingOptions.mappingPolicyStr = "innermost-first";
  OpPassManager &kernelNests = pm.nest<func::FuncOp>();
  kernelNests.addPass(createGpuMapParallelLoopsPass(mappingOptions));
  kernelNests.addPass(createConvertParallelLoopToGpuPass());
  buildBufferizationPipeline(pm, options.entry);

  // Loops to kernels: each linalg op becomes a parallel loop (reductions stay sequential
  // inside it), tiled so that tiles map to blocks and their points to threads, mapped as
  // the MoE kernels' nests were.
  OpPassManager &functions = pm.nest<func::FuncOp>();
  functions.addPass(createConvertLinalgToParallelLoopsPass());
  functions.addPass(createTileParallelLoopsForGpu());
  functions.addPass(createGpuMapParallelLoopsPass(mappingOptions));
  functions.addPass(createConvertParallelLoopToGpuPass());
  functions.addPass(createCanonicalizerPass());

  pm.addPass(createGpuKernelOutliningPass());
  MergeGpuModulesOptions mergeOptions;
  mergeOptions.moduleName = kKernelModuleName;
  pm.addPass(createMergeGpuModules(mergeOptions));

  // Memory, once kernels are outlined (what a kernel touches is what its launch is passed):
  // each buffer in device, managed or host memory, constants through the runtime's device
  // copies; then the GPU work queued on the stream, with host waits only where needed.
  PlaceBuffersOnDeviceOptions memoryOptions;
  memoryOptions.entry = options.entry;
  pm.addPass(createPlaceBuffersOnDevice(memoryOptions));
  pm.addPass(createCopyConstantsToGpu());
  pm.addNestedPass<func::FuncOp>(createOrderGpuWorkOnStream());
  // Whether the runtime may replay a run as a CUDA graph: known once the waits are placed.
  ExportGpuGraphBlockerOptions graphOptions;
  graphOptions.entry = options.entry;
  pm.addPass(createExportGpuGraphBlocker(graphOptions));
  GpuNVVMAttachTargetOptions targetOptions;
  targetOptions.moduleMatcher = std::string("^") + kKernelModuleName + "$";
  targetOptions.chip = options.chip;
  targetOptions.features = kPtxFeatures;
  if (!options.libdevicePath.empty())
    targetOptions.linkLibs.push_back(options.libdevicePath);
  pm.addPass(createGpuNVVMAttachTarget(targetOptions));
  buildKernelToNVVMPipeline(pm);

  GenerateEntryPointOptions entryOptions;
  entryOptions.entry = options.entry;
  pm.addPass(createGenerateEntryPoint(entryOptions));
  // Host side: launches, allocations and frees become calls to the mgpu* functions; the
  // kernels become a gpu.binary, which the LLVM translation embeds and loads. A fatbin
  // carries the PTX beside the chip's cubin, so that a GPU the cubin does not run on still
  // compiles the PTX at load. The sm_90a kernels' tensor maps are made on the host
  // (nvgpu.tma.create.descriptor).
  buildHostCodeToLLVMPipeline(pm, [](OpPassManager &host) {
    host.addPass(createConvertNVGPUToNVVMPass());
    host.addPass(createGpuToLLVMConversionPass());
  });
  GpuModuleToBinaryPassOptions binaryOptions;
  if (options.assemblerToolkitPath.empty()) {
    binaryOptions.compilationTarget = "isa";
  } else {
    binaryOptions.compilationTarget = "fatbin";
    binaryOptions.toolkitPath = options.assemblerToolkitPath;
  }
  pm.addPass(createGpuModuleToBinaryPass(binaryOptions));
}
