//===- UseRuntimeGemm.cpp - linalg.matmul on the runtime's GEMM kernel ----===//

#include "moec/Codegen/Host/Passes.h"
#include "codegen/common/RuntimeDeclarations.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_USERUNTIMEGEMM
#include "codegen/host/Passes.h.inc"
} // namespace moec

using namespace mlir;

static constexpr StringLiteral kSgemm = "moec_rt_sgemm";

/// Whether `type` is a 2-D f32 memref whose rows are contiguous (unit inner stride), so
/// that a row-major pointer and a leading dimension describe it.
static bool hasContiguousRows(MemRefType type) {
  if (type.getRank() != 2 || !type.getElementType().isF32())
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) && strides[1] == 1;
}

namespace {
struct MatmulToRuntimeGemm : OpRewritePattern<linalg::MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::MatmulOp op, PatternRewriter &rewriter) const override {
    // Transposed or broadcast variants of linalg.matmul keep the generic lowering.
    if (!op.hasPureBufferSemantics() ||
        op.getIndexingMapsArray() != linalg::MatmulOp::getDefaultIndexingMaps(op.getContext()))
      return failure();
    Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
    Value out = op.getDpsInits()[0];
    for (Value operand : {lhs, rhs, out})
      if (!hasContiguousRows(llvm::cast<MemRefType>(operand.getType())))
        return failure();

    Location loc = op.getLoc();
    auto i64 = rewriter.getI64Type();
    auto ptr = LLVM::LLVMPointerType::get(rewriter.getContext());
    // A row-major matrix: the address of its first element and its row stride.
    auto describe = [&](Value memref) -> std::pair<Value, Value> {
      auto metadata = memref::ExtractStridedMetadataOp::create(rewriter, loc, memref);
      Value base = memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, memref);
      Value offsetBytes = arith::MulIOp::create(
          rewriter, loc, metadata.getOffset(), arith::ConstantIndexOp::create(rewriter, loc, 4));
      Value address = arith::AddIOp::create(rewriter, loc, base, offsetBytes);
      Value addressI64 = arith::IndexCastOp::create(rewriter, loc, i64, address);
      Value pointer = LLVM::IntToPtrOp::create(rewriter, loc, ptr, addressI64);
      Value leadingDim = arith::IndexCastOp::create(rewriter, loc, i64, metadata.getStrides()[0]);
      return {pointer, leadingDim};
    };
    auto size = [&](Value memref, int64_t dim) -> Value {
      return arith::IndexCastOp::create(rewriter, loc, i64,
                                        memref::DimOp::create(rewriter, loc, memref, dim));
    };
    auto [a, lda] = describe(lhs);
    auto [b, ldb] = describe(rhs);
    auto [c, ldc] = describe(out);
    // linalg.matmul accumulates into its output.
    Value accumulate = arith::ConstantIntOp::create(rewriter, loc, 1, 32);
    func::CallOp::create(rewriter, loc, kSgemm, TypeRange{},
                         ValueRange{size(lhs, 0), size(rhs, 1), size(lhs, 1), a, lda, b, ldb, c,
                                    ldc, accumulate});
    rewriter.eraseOp(op);
    return success();
  }
};

struct UseRuntimeGemm : moec::impl::UseRuntimeGemmBase<UseRuntimeGemm> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    patterns.add<MatmulToRuntimeGemm>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();

    moec::declareCalledRuntimeFunctions(module, [](StringRef name) { return name == kSgemm; });
  }
};
} // namespace
