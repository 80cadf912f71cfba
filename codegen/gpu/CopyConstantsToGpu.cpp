//===- CopyConstantsToGpu.cpp - Constants through the GPU runtime ---------===//

#include "moec/Codegen/GPU/Passes.h"
#include "GpuBufferUses.h"
#include "codegen/common/RuntimeDeclarations.h"

#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/MathExtras.h"

namespace moec {
#define GEN_PASS_DEF_COPYCONSTANTSTOGPU
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// `void *moec_rt_gpu_constant(const void *host, int64_t bytes)`, defined by the runtime.
static constexpr StringLiteral kGpuConstant = "moec_rt_gpu_constant";

/// The bytes of a static buffer of `type` in memory. Index elements are 64-bit, as the LLVM
/// lowering makes them on the hosts moec targets; i1 takes a byte.
static int64_t sizeInBytes(MemRefType type) {
  Type element = type.getElementType();
  int64_t elementBytes =
      element.isIndex() ? 8 : llvm::divideCeil(element.getIntOrFloatBitWidth(), 8);
  return type.getNumElements() * elementBytes;
}

/// Points the GPU uses of `hostBuffer` (through its views) at `gpuBuffer`; a view that both
/// host code and GPU work use is made a second time, of `gpuBuffer`, for the GPU work.
static void redirectGpuUses(RewriterBase &rewriter, Value hostBuffer, Value gpuBuffer) {
  SmallVector<OpOperand *> uses =
      llvm::map_to_vector(hostBuffer.getUses(), [](OpOperand &use) { return &use; });
  for (OpOperand *use : uses) {
    Operation *user = use->getOwner();
    if (moec::isGpuUse(*use)) {
      rewriter.modifyOpInPlace(user, [&] { use->set(gpuBuffer); });
      continue;
    }
    Value view = moec::viewMadeBy(*use);
    if (!view || !moec::hasGpuUse(view))
      continue;
    rewriter.setInsertionPointAfter(user);
    IRMapping mapping;
    mapping.map(hostBuffer, gpuBuffer);
    Operation *gpuView = rewriter.clone(*user, mapping);
    redirectGpuUses(rewriter, view,
                    gpuView->getResult(cast<OpResult>(view).getResultNumber()));
  }
}

namespace {
struct ReadConstantThroughGpuRuntime : OpRewritePattern<memref::GetGlobalOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::GetGlobalOp getGlobal,
                                PatternRewriter &rewriter) const override {
    // Once rewritten, only host code reads the global itself.
    if (!moec::hasGpuUse(getGlobal.getResult()))
      return rewriter.notifyMatchFailure(getGlobal, "no GPU work reads it");
    MemRefType type = getGlobal.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
        !(type.getElementType().isIntOrIndexOrFloat()))
      return rewriter.notifyMatchFailure(getGlobal, "not a static, dense buffer of scalars");
    auto global =
        SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(getGlobal, getGlobal.getNameAttr());
    if (!global || !global.getConstant())
      return rewriter.notifyMatchFailure(getGlobal, "not a constant global");

    // At the start, where no GPU work is queued yet, so that calling the runtime makes
    // the host wait for none.
    Location loc = getGlobal.getLoc();
    Block &entryBlock = getGlobal->getParentOfType<FunctionOpInterface>().getFunctionBody().front();
    rewriter.moveOpBefore(getGlobal, &entryBlock, entryBlock.begin());
    rewriter.setInsertionPointAfter(getGlobal);
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    auto i64 = rewriter.getI64Type();
    auto address =
        memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, getGlobal.getResult());
    Value addressI64 = arith::IndexCastOp::create(rewriter, loc, i64, address);
    Value hostPointer = LLVM::IntToPtrOp::create(rewriter, loc, ptr, addressI64);
    Value bytes = arith::ConstantIntOp::create(rewriter, loc, sizeInBytes(type), 64);
    Value gpuPointer = func::CallOp::create(rewriter, loc, kGpuConstant, TypeRange{ptr},
                                            ValueRange{hostPointer, bytes})
                           .getResult(0);
    // The copy becomes a memref through the descriptor it lowers to, which the LLVM
    // conversion reconciles away.
    LLVMTypeConverter converter(rewriter.getContext());
    Value descriptor =
        MemRefDescriptor::fromStaticShape(rewriter, loc, converter, type, gpuPointer);
    Value copy = UnrealizedConversionCastOp::create(rewriter, loc, type, descriptor).getResult(0);
    redirectGpuUses(rewriter, getGlobal.getResult(), copy);
    return success();
  }
};

struct CopyConstantsToGpu : moec::impl::CopyConstantsToGpuBase<CopyConstantsToGpu> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    patterns.add<ReadConstantThroughGpuRuntime>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();

    moec::declareCalledRuntimeFunctions(module,
                                        [](StringRef name) { return name == kGpuConstant; });
  }
};
} // namespace
