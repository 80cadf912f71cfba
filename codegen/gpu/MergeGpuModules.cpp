//===- MergeGpuModules.cpp - One gpu.module for every kernel --------------===//

#include "moec/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace moec {
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;

namespace {
struct MergeGpuModules : moec::impl::MergeGpuModulesBase<MergeGpuModules> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Kernels built directly into the merged module (the tensor-core ones) stay where they
    // are; the outlined ones join them.
    auto merged = module.lookupSymbol<gpu::GPUModuleOp>(moduleName);
    if (!merged && module.lookupSymbol(moduleName)) {
      module.emitError() << "cannot merge the GPU modules into '" << moduleName
                         << "': the name is taken";
      return signalPassFailure();
    }
    SmallVector<gpu::GPUModuleOp> sources;
    for (gpu::GPUModuleOp source : module.getOps<gpu::GPUModuleOp>())
      if (source != merged)
        sources.push_back(source);
    if (sources.empty())
      return;
    if (!merged) {
      OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
      merged = gpu::GPUModuleOp::create(builder, sources.front().getLoc(), moduleName);
    }
    SymbolTable mergedSymbols(merged);

    // Where each moved symbol went, so that launches can be pointed at it.
    DenseMap<SymbolRefAttr, SymbolRefAttr> movedTo;
    auto mergedRef = FlatSymbolRefAttr::get(merged.getSymNameAttr());
    for (gpu::GPUModuleOp source : sources) {
      auto sourceRef = FlatSymbolRefAttr::get(source.getSymNameAttr());
      for (Operation &op : llvm::make_early_inc_range(source.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol)
          continue;
        StringAttr oldName = symbol.getNameAttr();
        op.moveBefore(merged.getBody(), merged.getBody()->end());
        // Inserting renames the symbol when its name is already taken.
        StringAttr newName = mergedSymbols.insert(&op);
        movedTo[SymbolRefAttr::get(sourceRef.getAttr(), {FlatSymbolRefAttr::get(oldName)})] =
            SymbolRefAttr::get(mergedRef.getAttr(), {FlatSymbolRefAttr::get(newName)});
      }
    }

    WalkResult result = module.walk([&](gpu::LaunchFuncOp launch) {
      if (launch.getKernelModuleName() == merged.getSymNameAttr())
        return WalkResult::advance();
      auto target = movedTo.find(launch.getKernel());
      if (target == movedTo.end()) {
        launch.emitError() << "launches " << launch.getKernel() << ", which is in no GPU module";
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(target->second);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp source : sources)
      source.erase();
  }
};
} // namespace
