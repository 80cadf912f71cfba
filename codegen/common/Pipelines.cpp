//===- Pipelines.cpp - The pipelines every target builds on ---------------===//

#include "moec/Codegen/Common/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/TosaToLinalg/TosaToLinalg.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

void moec::buildTensorLevelPipeline(OpPassManager &pm) {
  // What legalization left in tosa goes to linalg/arith/tensor; then elementwise chains
  // fuse into single loops before anything is materialized, and 16-bit matmuls go to the
  // grouped matmul kernels, which accumulate in f32.
  OpPassManager &funcPM = pm.nest<func::FuncOp>();
  funcPM.addPass(tosa::createTosaToLinalgNamed());
  funcPM.addPass(tosa::createTosaToLinalg());
  funcPM.addPass(createTosaToArithPass());
  funcPM.addPass(createTosaToTensorPass());
  funcPM.addPass(createFuseElementwiseOps());
  funcPM.addPass(createRewriteMatmulsAsGroupedMatmul());
}

void moec::buildBufferizationPipeline(OpPassManager &pm, StringRef entry) {
  // The entry function takes and returns plain (identity-layout) memrefs, and
  // ownership-based deallocation hands every returned buffer to the caller.
  ProtectEntryInputsOptions protectOptions;
  protectOptions.entry = entry.str();
  pm.addPass(createProtectEntryInputs(protectOptions));
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
}

void moec::buildHostCodeToLLVMPipeline(OpPassManager &pm,
                                       function_ref<void(OpPassManager &)> beforeMemRefToLLVM) {
  pm.addPass(createLowerRuntimeChecks());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Integer powers become generated functions; math with an LLVM intrinsic (floor, fma,
  // sqrt, ...) becomes the intrinsic, which vectorizes; only the rest (erf, ...) calls
  // into libm, which would take floor and fma as well.
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // Strided-metadata expansion emits affine.apply for reshaped sizes: before lower-affine.
  pm.addPass(createLowerDynamicExpandShape());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  if (beforeMemRefToLLVM)
    beforeMemRefToLLVM(pm);
  // Allocations go through the runtime, which ends the program with one line where
  // malloc fails (lib/runtime/core/Checks.cpp).
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
