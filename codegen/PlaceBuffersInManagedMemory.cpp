//===- PlaceBuffersInManagedMemory.cpp - Buffers GPU and host both touch --===//

#include "moec/Codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_PLACEBUFFERSINMANAGEDMEMORY
#include "codegen/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// A managed buffer of `type`, with the sizes of `like` for its dynamic dimensions.
static Value allocateManagedLike(OpBuilder &builder, Location loc, MemRefType type, Value like) {
  SmallVector<Value> dynamicSizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      dynamicSizes.push_back(memref::DimOp::create(builder, loc, like, dim));
  return gpu::AllocOp::create(builder, loc, type, /*asyncToken=*/Type(),
                              /*asyncDependencies=*/ValueRange(), dynamicSizes,
                              /*symbolOperands=*/ValueRange(), /*hostShared=*/true)
      .getMemref();
}

/// Frees a managed buffer. gpu-to-llvm lowers only the asynchronous form of gpu.dealloc,
/// so the free goes on a stream that is waited for at once.
static void freeManaged(OpBuilder &builder, Location loc, Value buffer) {
  auto tokenType = gpu::AsyncTokenType::get(builder.getContext());
  Value stream = gpu::WaitOp::create(builder, loc, tokenType, ValueRange()).getAsyncToken();
  Value freed = gpu::DeallocOp::create(builder, loc, tokenType, stream, buffer).getAsyncToken();
  gpu::WaitOp::create(builder, loc, Type(), freed);
}

namespace {
/// memref.alloc → gpu.alloc host_shared.
struct AllocateManaged : OpRewritePattern<memref::AllocOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::AllocOp alloc, PatternRewriter &rewriter) const override {
    if (!alloc.getSymbolOperands().empty())
      return rewriter.notifyMatchFailure(alloc, "affine layout symbols");
    rewriter.replaceOpWithNewOp<gpu::AllocOp>(
        alloc, alloc.getType(), /*asyncToken=*/Type(), /*asyncDependencies=*/ValueRange(),
        alloc.getDynamicSizes(), /*symbolOperands=*/ValueRange(), /*hostShared=*/true);
    return success();
  }
};

/// memref.dealloc → gpu.dealloc.
struct FreeManaged : OpRewritePattern<memref::DeallocOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::DeallocOp dealloc,
                                PatternRewriter &rewriter) const override {
    freeManaged(rewriter, dealloc.getLoc(), dealloc.getMemref());
    rewriter.eraseOp(dealloc);
    return success();
  }
};

struct PlaceBuffersInManagedMemory
    : moec::impl::PlaceBuffersInManagedMemoryBase<PlaceBuffersInManagedMemory> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto function = module.lookupSymbol<func::FuncOp>(entry);
    if (!function || function.isExternal()) {
      module.emitError() << "no entry function '" << entry << "' to place in managed memory";
      return signalPassFailure();
    }

    RewritePatternSet patterns(&getContext());
    patterns.add<AllocateManaged, FreeManaged>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();

    if (failed(copyInputsIn(function)) || failed(copyResultsOut(function)))
      return signalPassFailure();
  }

  /// Every input is copied into a managed buffer on entry, which replaces it in the body
  /// and is freed before each return.
  LogicalResult copyInputsIn(func::FuncOp function) {
    Block &entryBlock = function.getBody().front();
    OpBuilder builder = OpBuilder::atBlockBegin(&entryBlock);
    SmallVector<Value> managedInputs;
    for (BlockArgument input : entryBlock.getArguments()) {
      auto type = dyn_cast<MemRefType>(input.getType());
      if (!type)
        return function.emitError() << "entry function takes " << input.getType()
                                    << ", but the GPU pipeline expects memrefs";
      // The body's uses, not those of the copy made here.
      SmallVector<OpOperand *> bodyUses =
          llvm::map_to_vector(input.getUses(), [](OpOperand &use) { return &use; });
      Location loc = input.getLoc();
      Value managed = allocateManagedLike(builder, loc, type, input);
      memref::CopyOp::create(builder, loc, input, managed);
      for (OpOperand *use : bodyUses)
        use->set(managed);
      managedInputs.push_back(managed);
    }
    function.walk([&](func::ReturnOp ret) {
      builder.setInsertionPoint(ret);
      for (Value managed : managedInputs)
        freeManaged(builder, ret.getLoc(), managed);
    });
    return success();
  }

  /// Every result (a managed buffer the function owns) is copied into host memory, which
  /// is returned instead, and freed once however many results it is.
  LogicalResult copyResultsOut(func::FuncOp function) {
    WalkResult result = function.walk([&](func::ReturnOp ret) {
      OpBuilder builder(ret);
      SmallVector<Value> hostResults;
      llvm::SetVector<Value> managedResults;
      for (Value managed : ret.getOperands()) {
        auto type = dyn_cast<MemRefType>(managed.getType());
        if (!type) {
          ret.emitError() << "entry function returns " << managed.getType()
                          << ", but the GPU pipeline expects memrefs";
          return WalkResult::interrupt();
        }
        SmallVector<Value> dynamicSizes;
        for (int64_t dim = 0; dim < type.getRank(); ++dim)
          if (type.isDynamicDim(dim))
            dynamicSizes.push_back(memref::DimOp::create(builder, ret.getLoc(), managed, dim));
        Value host = memref::AllocOp::create(builder, ret.getLoc(), type, dynamicSizes,
                                             builder.getI64IntegerAttr(64));
        memref::CopyOp::create(builder, ret.getLoc(), managed, host);
        hostResults.push_back(host);
        managedResults.insert(managed);
      }
      for (Value managed : managedResults)
        freeManaged(builder, ret.getLoc(), managed);
      ret->setOperands(hostResults);
      return WalkResult::advance();
    });
    return failure(result.wasInterrupted());
  }
};
} // namespace
