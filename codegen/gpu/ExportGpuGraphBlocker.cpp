//===- ExportGpuGraphBlocker.cpp - May a run be replayed as a CUDA graph? -===//
//
// A CUDA graph replays the GPU work of one captured run and none of its host code, so
// the runtime may replay only runs whose host code does nothing that a later run with the
// same input shapes would need again (docs/runtime-abi.md, "CUDA graphs"). This pass
// checks that on the placed and ordered GPU code and records the verdict for the runtime.
//
//===----------------------------------------------------------------------===//

#include "GpuBufferUses.h"
#include "moec/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/Support/raw_ostream.h"

#include <optional>

namespace moec {
#define GEN_PASS_DEF_EXPORTGPUGRAPHBLOCKER
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// "'op' at loc", for the runtime's note.
static std::string where(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "'" << op->getName() << "' at " << op->getLoc();
  return text;
}

/// Whether `op` touches no memory, or only frees it: the host may still run it after its
/// last wait on a replayable run.
static bool onlyFrees(Operation *op) {
  if (isMemoryEffectFree(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return false;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::all_of(instances, [](const MemoryEffects::EffectInstance &instance) {
    return isa<MemoryEffects::Free>(instance.getEffect());
  });
}

/// Whether host code reads the elements of `buffer`, through its views: anything but a
/// GPU work (moec::isGpuUse) or a size query does, or may.
static bool hostReadsElements(Value buffer) {
  for (OpOperand &use : buffer.getUses()) {
    if (Value view = moec::viewMadeBy(use)) {
      if (hostReadsElements(view))
        return true;
      continue;
    }
    if (!moec::isGpuUse(use) && !isa<memref::DimOp>(use.getOwner()))
      return true;
  }
  return false;
}

/// Why a run of `entry` cannot be replayed, if it cannot: a mid-run wait first (host code
/// that needs what kernels computed, the root of most other reasons), then a managed
/// buffer, then an input that host code reads.
static std::optional<std::string> graphBlocker(ModuleOp module, func::FuncOp entry) {
  std::optional<std::string> reason;
  module.walk([&](gpu::WaitOp wait) {
    if (wait.getAsyncToken())
      return WalkResult::advance();
    bool last = wait->getParentOp() == entry.getOperation();
    for (Operation *after = wait->getNextNode(); last && after; after = after->getNextNode())
      last = isa<func::ReturnOp>(after) || onlyFrees(after);
    if (last)
      return WalkResult::advance();
    reason = "the host waits for the GPU before the end of the run: " + where(wait);
    return WalkResult::interrupt();
  });
  if (reason)
    return reason;
  module.walk([&](gpu::AllocOp alloc) {
    if (!alloc.getHostShared())
      return WalkResult::advance();
    reason = "host code and kernels share a buffer in managed memory: " + where(alloc);
    return WalkResult::interrupt();
  });
  if (reason)
    return reason;
  for (BlockArgument input : entry.getArguments())
    if (isa<MemRefType>(input.getType()) && hostReadsElements(input))
      return "host code reads the elements of input " + std::to_string(input.getArgNumber());
  return std::nullopt;
}

namespace {
struct ExportGpuGraphBlocker : moec::impl::ExportGpuGraphBlockerBase<ExportGpuGraphBlocker> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto function = module.lookupSymbol<func::FuncOp>(entry);
    if (!function || function.isExternal()) {
      module.emitError() << "no entry function '" << entry << "' to check for CUDA graphs";
      return signalPassFailure();
    }
    std::string blocker = graphBlocker(module, function).value_or("");
    for (char &c : blocker)
      if (c == '\n')
        c = ' ';
    // The C side reads it as a NUL-terminated `const char[]`.
    blocker.push_back('\0');
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    auto arrayType = LLVM::LLVMArrayType::get(builder.getI8Type(), blocker.size());
    LLVM::GlobalOp::create(builder, function.getLoc(), arrayType, /*isConstant=*/true,
                           LLVM::Linkage::External, "moec_gpu_graph_blocker",
                           builder.getStringAttr(blocker));
  }
};
} // namespace
