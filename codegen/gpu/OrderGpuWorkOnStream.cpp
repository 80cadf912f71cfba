//===- OrderGpuWorkOnStream.cpp - GPU work queued, host waits only where needed ===//
//
// The runtime runs all GPU work on one stream (lib/runtime/cuda/CudaRuntimeWrappers.cpp), so
// queued work runs in program order without any host wait; the host waits only where its
// own code may touch memory that queued work uses (docs/gpu-codegen.md).
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/GPU/Passes.h"

#include "GpuBufferUses.h"
#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace moec {
#define GEN_PASS_DEF_ORDERGPUWORKONSTREAM
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// Whether `op` is GPU work that goes on the stream. A managed allocation stays
/// synchronous: gpu-to-llvm lowers no asynchronous one (the runtime's pool hands out only
/// managed blocks that no queued work uses).
static bool goesOnStream(Operation *op) {
  if (auto alloc = dyn_cast<gpu::AllocOp>(op))
    return !alloc.getHostShared();
  return isa<gpu::LaunchFuncOp, gpu::MemcpyOp, gpu::MemsetOp, gpu::DeallocOp>(op);
}

namespace {
/// The buffers that the GPU work queued since the host last waited uses.
class QueuedBuffers {
public:
  void add(Operation *work) {
    for (Value operand : work->getOperands())
      if (isa<MemRefType>(operand.getType()))
        for (Value buffer : moec::possibleBuffers(operand))
          addBuffer(buffer);
  }
  void clear() {
    buffers.clear();
    unidentified = false;
  }
  void merge(const QueuedBuffers &other) {
    buffers.insert(other.buffers.begin(), other.buffers.end());
    unidentified |= other.unidentified;
  }
  /// Whether queued work may use (memory of) `value`.
  bool mayUse(Value value) const {
    return unidentified || llvm::any_of(moec::possibleBuffers(value), [&](Value buffer) {
             return !isIdentified(buffer) || buffers.contains(buffer);
           });
  }

private:
  /// A buffer known to be no other's memory: an allocation, a global, a function's input,
  /// or a descriptor built from a pointer (at this point in the pipeline only the device
  /// copies of constants, moec-copy-constants-to-gpu, which host code never touches).
  static bool isIdentified(Value buffer) {
    if (isa<BlockArgument>(buffer))
      return isa<FunctionOpInterface>(buffer.getParentBlock()->getParentOp());
    Operation *definition = buffer.getDefiningOp();
    if (auto cast = dyn_cast<UnrealizedConversionCastOp>(definition))
      return cast.getNumOperands() == 1 &&
             isa<LLVM::LLVMStructType>(cast.getOperand(0).getType());
    return isa<memref::AllocOp, gpu::AllocOp, memref::GetGlobalOp>(definition);
  }
  void addBuffer(Value buffer) {
    if (isIdentified(buffer))
      buffers.insert(buffer);
    else
      unidentified = true;
  }

  llvm::SmallDenseSet<Value> buffers;
  bool unidentified = false;
};
} // namespace

/// Whether host code running `op` may touch memory that queued GPU work uses, so that the
/// host must wait for the stream first: an op with a memory effect on such a buffer, or an
/// effect it does not name a buffer for (a call), or GPU work in its regions (which waits
/// around itself). Allocating its own result, asserting or checking (moe.check, whose
/// values were read before it) and encoding a tensor map touch nothing queued.
static bool touchesQueuedMemory(Operation *op, const QueuedBuffers &queued) {
  if (goesOnStream(op))
    return true;
  // A tensor map holds the buffer's address and shape, not its contents: its declared read
  // (GpuLaunchMemoryEffects.cpp) only keeps the buffer alive for the deallocation.
  if (isa<cf::AssertOp, moec::moe::CheckOp>(op) || moec::passesBuffersToKernels(op))
    return false;
  if (op->getNumRegions() != 0 && op->hasTrait<OpTrait::HasRecursiveMemoryEffects>()) {
    WalkResult nested = op->walk([&](Operation *inner) {
      if (inner != op && inner->getNumRegions() == 0 && touchesQueuedMemory(inner, queued))
        return WalkResult::interrupt();
      return WalkResult::advance();
    });
    return nested.wasInterrupted();
  }
  if (isMemoryEffectFree(op))
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return true;
  SmallVector<MemoryEffects::EffectInstance> instances;
  effects.getEffects(instances);
  return llvm::any_of(instances, [&](const MemoryEffects::EffectInstance &instance) {
    Value value = instance.getValue();
    if (isa<MemoryEffects::Allocate>(instance.getEffect()) && value && value.getDefiningOp() == op)
      return false;
    return !value || !isa<MemRefType>(value.getType()) || queued.mayUse(value);
  });
}

/// `op` with an async token result, depending on `token`; returns the new token.
static Value makeAsync(OpBuilder &builder, gpu::AsyncOpInterface op, Value token) {
  op.addAsyncDependency(token);
  Operation *operation = op.getOperation();
  SmallVector<Type> resultTypes(operation->getResultTypes());
  resultTypes.push_back(builder.getType<gpu::AsyncTokenType>());
  builder.setInsertionPoint(operation);
  Operation *async = Operation::create(
      operation->getLoc(), operation->getName(), resultTypes, operation->getOperands(),
      operation->getDiscardableAttrDictionary(), operation->getPropertiesStorage(),
      operation->getSuccessors(), /*numRegions=*/0);
  builder.insert(async);
  operation->replaceAllUsesWith(async->getResults().drop_back());
  operation->erase();
  return async->getResults().back();
}

/// Whether `op`'s regions hold GPU work.
static bool holdsGpuWork(Operation *op) {
  return op->walk([](Operation *inner) {
             return goesOnStream(inner) ? WalkResult::interrupt() : WalkResult::advance();
           })
      .wasInterrupted();
}

namespace {
struct OrderGpuWorkOnStream : moec::impl::OrderGpuWorkOnStreamBase<OrderGpuWorkOnStream> {
  void runOnOperation() override {
    // Outer blocks first: an scf.if's branches go on from the chain of the block around it.
    SmallVector<Block *> blocks;
    getOperation().walk<WalkOrder::PreOrder>([&](Block *block) { blocks.push_back(block); });
    for (Block *block : blocks) {
      if (ordered.contains(block))
        continue;
      if (failed(orderBlock(*block, Value(), QueuedBuffers(), /*inBranch=*/false)))
        return signalPassFailure();
    }
  }

  /// Threads one token through the GPU work of `block`, in program order, from `token`
  /// (null: none yet) with `queued` the buffers that work uses: the first piece of work
  /// without a token starts the chain (`gpu.wait async`), and a `gpu.wait` ends it where
  /// the host must wait. At the end of the block the host waits, unless `inBranch` (an
  /// scf.if's branch, whose work the block around it goes on from); returns what the
  /// block queued that no wait covers.
  FailureOr<QueuedBuffers> orderBlock(Block &block, Value token, QueuedBuffers queued,
                                      bool inBranch) {
    ordered.insert(&block);
    OpBuilder builder(&getContext());
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (auto wait = dyn_cast<gpu::WaitOp>(op))
        return wait.emitOpError("before moec-order-gpu-work-on-stream, which makes the waits");
      auto asyncOp = dyn_cast<gpu::AsyncOpInterface>(op);
      if (asyncOp && asyncOp.getAsyncToken())
        return op.emitOpError("is asynchronous already");
      if (goesOnStream(&op)) {
        if (!token) {
          builder.setInsertionPoint(&op);
          token = gpu::WaitOp::create(builder, op.getLoc(), builder.getType<gpu::AsyncTokenType>(),
                                      ValueRange())
                      .getAsyncToken();
        }
        queued.add(&op);
        token = makeAsync(builder, asyncOp, token);
        continue;
      }
      // A choice between GPU work that the host makes (its condition is computed before
      // it) needs no wait: each branch queues its work after the chain so far, and the
      // work after the scf.if goes on the same stream after it. The chain's token does
      // not cross the scf.if (gpu-to-llvm would take a yielded token for an event), so
      // that order is the one stream's (docs/gpu-codegen.md).
      if (auto choice = dyn_cast<scf::IfOp>(op); choice && holdsGpuWork(choice)) {
        for (Region *branch : {&choice.getThenRegion(), &choice.getElseRegion()}) {
          if (branch->empty())
            continue;
          FailureOr<QueuedBuffers> branchQueued =
              orderBlock(branch->front(), token, queued, /*inBranch=*/true);
          if (failed(branchQueued))
            return failure();
          queued.merge(*branchQueued);
        }
        continue;
      }
      if (inBranch && op.hasTrait<OpTrait::IsTerminator>())
        break;
      // Tokens do not cross other blocks; in the entry function, the return hands the
      // results (copied to the host on the stream) to the caller.
      if (token && (op.hasTrait<OpTrait::IsTerminator>() || touchesQueuedMemory(&op, queued))) {
        builder.setInsertionPoint(&op);
        gpu::WaitOp::create(builder, op.getLoc(), Type(), token);
        token = {};
        queued.clear();
      }
    }
    return queued;
  }

  /// Blocks whose work is ordered already (the branches of an scf.if, with the block
  /// around it).
  llvm::SmallPtrSet<Block *, 8> ordered;
};
} // namespace
