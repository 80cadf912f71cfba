//===- PlaceBuffersOnDevice.cpp - Device, managed or host memory per buffer ===//
//
// Each buffer of the entry function lives where the code that touches it can reach it:
// device memory when only GPU work touches it, managed memory when host code and kernels
// both do, plain host memory when no kernel does (docs/gpu-codegen.md, "Memory model").
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/GPU/Passes.h"
#include "GpuBufferUses.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/SetVector.h"

namespace moec {
#define GEN_PASS_DEF_PLACEBUFFERSONDEVICE
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;

static bool hasIdentityLayout(Value buffer) {
  return cast<MemRefType>(buffer.getType()).getLayout().isIdentity();
}

/// A copy between two dense buffers, which the stream can do (`gpu.memcpy`) wherever the
/// two live.
static bool isDenseCopy(memref::CopyOp copy) {
  return hasIdentityLayout(copy.getSource()) && hasIdentityLayout(copy.getTarget());
}

/// Whether `value` is (a view of) a buffer on the GPU, device or managed memory, whichever
/// branch made it.
static bool isOnGpu(Value value) {
  return llvm::all_of(moec::possibleBuffers(value),
                      [](Value buffer) { return buffer.getDefiningOp<gpu::AllocOp>(); });
}

namespace {
/// Which sides touch the elements of a buffer, through any of its views.
struct Touches {
  bool kernels = false;
  bool host = false;
};
} // namespace

/// The rule: kernels touch what a launch is passed. Host code touches what any other op is
/// given, except ops that read no element (sizes, frees, views, whose uses count in turn),
/// dense copies (the stream copies them, wherever each side lives) and the entry's results
/// (dense, bufferization's identity layouts at the entry, and copied out the same way). Whatever else host code is given (loads, stores,
/// strided copies, calls, control flow it flows through other than an scf.if's yield, which
/// hands it on to the result) it touches.
static void collectTouches(Value buffer, Touches &touches) {
  for (OpOperand &use : buffer.getUses()) {
    Operation *user = use.getOwner();
    if (moec::passesBuffersToKernels(user) || isa<gpu::MemsetOp>(user)) {
      touches.kernels = true;
      continue;
    }
    if (Value view = moec::viewMadeBy(use)) {
      collectTouches(view, touches);
      continue;
    }
    // A buffer that a branch yields is touched where the scf.if's result is.
    if (isa<scf::YieldOp>(user) && isa<scf::IfOp>(user->getParentOp())) {
      collectTouches(user->getParentOp()->getResult(use.getOperandNumber()), touches);
      continue;
    }
    if (isa<memref::DimOp, memref::DeallocOp, gpu::DeallocOp, gpu::MemcpyOp>(user))
      continue;
    if (auto copy = dyn_cast<memref::CopyOp>(user); copy && isDenseCopy(copy))
      continue;
    if (isa<func::ReturnOp>(user))
      continue;
    touches.host = true;
  }
}

/// A buffer of `type` on the GPU (managed memory when `managed`), with the sizes of `like`
/// for its dynamic dimensions.
static Value allocateOnGpuLike(OpBuilder &builder, Location loc, MemRefType type, Value like,
                               bool managed) {
  SmallVector<Value> dynamicSizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      dynamicSizes.push_back(memref::DimOp::create(builder, loc, like, dim));
  return gpu::AllocOp::create(builder, loc, type, /*asyncToken=*/Type(),
                              /*asyncDependencies=*/ValueRange(), dynamicSizes,
                              /*symbolOperands=*/ValueRange(), managed)
      .getMemref();
}

/// The synchronous forms: moec-order-gpu-work-on-stream puts them on the stream.
static void copyOnStream(OpBuilder &builder, Location loc, Value source, Value target) {
  gpu::MemcpyOp::create(builder, loc, /*asyncToken=*/Type(), /*asyncDependencies=*/ValueRange(),
                        target, source);
}

static void freeOnGpu(OpBuilder &builder, Location loc, Value buffer) {
  gpu::DeallocOp::create(builder, loc, /*asyncToken=*/Type(), /*asyncDependencies=*/ValueRange(),
                         buffer);
}

namespace {
/// memref.alloc → gpu.alloc for a buffer that kernels touch: managed when host code touches
/// it too (host_shared), device memory otherwise.
struct PlaceAllocationOnGpu : OpRewritePattern<memref::AllocOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::AllocOp alloc, PatternRewriter &rewriter) const override {
    Touches touches;
    collectTouches(alloc.getResult(), touches);
    if (!touches.kernels)
      return rewriter.notifyMatchFailure(alloc, "no kernel touches it: stays in host memory");
    if (!alloc.getSymbolOperands().empty() || !alloc.getType().getLayout().isIdentity())
      return rewriter.notifyMatchFailure(alloc, "a GPU buffer needs the identity layout");
    rewriter.replaceOpWithNewOp<gpu::AllocOp>(
        alloc, alloc.getType(), /*asyncToken=*/Type(), /*asyncDependencies=*/ValueRange(),
        alloc.getDynamicSizes(), /*symbolOperands=*/ValueRange(), /*hostShared=*/touches.host);
    return success();
  }
};

/// memref.copy of dense buffers → gpu.memcpy when either side is on the GPU.
struct CopyOnStream : OpRewritePattern<memref::CopyOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::CopyOp copy, PatternRewriter &rewriter) const override {
    if (!isDenseCopy(copy) || !(isOnGpu(copy.getSource()) || isOnGpu(copy.getTarget())))
      return rewriter.notifyMatchFailure(copy, "strided, or both sides in host memory");
    copyOnStream(rewriter, copy.getLoc(), copy.getSource(), copy.getTarget());
    rewriter.eraseOp(copy);
    return success();
  }
};

/// memref.dealloc of a buffer on the GPU → gpu.dealloc.
struct FreeOnGpu : OpRewritePattern<memref::DeallocOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::DeallocOp dealloc,
                                PatternRewriter &rewriter) const override {
    if (!isOnGpu(dealloc.getMemref()))
      return rewriter.notifyMatchFailure(dealloc, "a host buffer");
    freeOnGpu(rewriter, dealloc.getLoc(), dealloc.getMemref());
    rewriter.eraseOp(dealloc);
    return success();
  }
};

struct PlaceBuffersOnDevice : moec::impl::PlaceBuffersOnDeviceBase<PlaceBuffersOnDevice> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto function = module.lookupSymbol<func::FuncOp>(entry);
    if (!function || function.isExternal()) {
      module.emitError() << "no entry function '" << entry << "' to place buffers of";
      return signalPassFailure();
    }

    llvm::SetVector<Value> ownedOnGpu;
    if (failed(copyInputsToGpu(function, ownedOnGpu)))
      return signalPassFailure();

    // Allocations first: whether a copy or a free goes to the GPU depends on where its
    // buffers were placed.
    RewritePatternSet allocations(&getContext());
    allocations.add<PlaceAllocationOnGpu>(&getContext());
    RewritePatternSet copiesAndFrees(&getContext());
    copiesAndFrees.add<CopyOnStream, FreeOnGpu>(&getContext());
    if (failed(applyPatternsGreedily(function, std::move(allocations))) ||
        failed(applyPatternsGreedily(function, std::move(copiesAndFrees))))
      return signalPassFailure();

    if (failed(copyResultsToHost(function, ownedOnGpu)) || failed(checkPlacement(function)))
      return signalPassFailure();
  }

  /// Every input (host memory, the caller's) that kernels touch is copied into a GPU buffer
  /// on entry, which replaces it in the body; inputs that no kernel touches are used as
  /// they are.
  LogicalResult copyInputsToGpu(func::FuncOp function, llvm::SetVector<Value> &ownedOnGpu) {
    Block &entryBlock = function.getBody().front();
    OpBuilder builder = OpBuilder::atBlockBegin(&entryBlock);
    for (BlockArgument input : entryBlock.getArguments()) {
      auto type = dyn_cast<MemRefType>(input.getType());
      if (!type)
        return function.emitError() << "entry function takes " << input.getType()
                                    << ", but the GPU pipeline expects memrefs";
      Touches touches;
      collectTouches(input, touches);
      if (!touches.kernels)
        continue;
      // The body's uses, not those of the copy made here.
      SmallVector<OpOperand *> bodyUses =
          llvm::map_to_vector(input.getUses(), [](OpOperand &use) { return &use; });
      Location loc = input.getLoc();
      Value onGpu = allocateOnGpuLike(builder, loc, type, input, /*managed=*/touches.host);
      copyOnStream(builder, loc, input, onGpu);
      for (OpOperand *use : bodyUses)
        use->set(onGpu);
      ownedOnGpu.insert(onGpu);
    }
    return success();
  }

  /// Every result on the GPU is copied into host memory (the malloc that the runtime's ABI
  /// hands to the caller, docs/runtime-abi.md), which is returned instead; then every GPU
  /// buffer the function owns is freed, once however many results share it.
  LogicalResult copyResultsToHost(func::FuncOp function, llvm::SetVector<Value> ownedOnGpu) {
    WalkResult result = function.walk([&](func::ReturnOp ret) {
      OpBuilder builder(ret);
      Location loc = ret.getLoc();
      llvm::SetVector<Value> toFree = ownedOnGpu;
      for (OpOperand &operand : ret->getOpOperands()) {
        Value result = operand.get();
        auto type = dyn_cast<MemRefType>(result.getType());
        if (!type || !type.getLayout().isIdentity()) {
          ret.emitError() << "entry function returns " << result.getType()
                          << ", but the GPU pipeline expects memrefs with the identity layout";
          return WalkResult::interrupt();
        }
        if (!isOnGpu(result))
          continue;
        SmallVector<Value> dynamicSizes;
        for (int64_t dim = 0; dim < type.getRank(); ++dim)
          if (type.isDynamicDim(dim))
            dynamicSizes.push_back(memref::DimOp::create(builder, loc, result, dim));
        Value host = memref::AllocOp::create(builder, loc, type, dynamicSizes,
                                             builder.getI64IntegerAttr(64));
        copyOnStream(builder, loc, result, host);
        operand.set(host);
        toFree.insert(moec::viewedBuffer(result));
      }
      for (Value buffer : toFree)
        freeOnGpu(builder, loc, buffer);
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }

  /// What stays in host memory is what no kernel touches, and a memref.dealloc left is
  /// free(), which only takes what malloc made.
  LogicalResult checkPlacement(func::FuncOp function) {
    WalkResult result = function.walk([](Operation *op) {
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        Touches touches;
        collectTouches(alloc.getResult(), touches);
        if (touches.kernels) {
          alloc.emitError("is touched by kernels but cannot be a GPU buffer (it has a layout)");
          return WalkResult::interrupt();
        }
      }
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op);
          dealloc && !llvm::all_of(moec::possibleBuffers(dealloc.getMemref()), [](Value buffer) {
            return buffer.getDefiningOp<memref::AllocOp>();
          })) {
        dealloc.emitError("frees a buffer whose allocation is not in sight, so it is not "
                          "known whether it lives in host or GPU memory");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }
};
} // namespace
