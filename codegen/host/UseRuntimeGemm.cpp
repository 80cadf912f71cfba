//===- UseRuntimeGemm.cpp - linalg.matmul on the runtime's GEMM kernel ----===//

#include "moec/Codegen/Host/Passes.h"
#include "codegen/common/RuntimeDeclarations.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_USERUNTIMEGEMM
#include "codegen/host/Passes.h.inc"
} // namespace moec

using namespace mlir;

static constexpr StringLiteral kSgemm = "moec_rt_sgemm";

/// Whether `type` is an f32 memref of rank 2 or more whose rows are contiguous (unit inner
/// stride), so that a row-major pointer and a leading dimension describe each of its
/// matrices (the last two dimensions).
static bool hasContiguousRows(MemRefType type) {
  if (type.getRank() < 2 || !type.getElementType().isF32())
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(type.getStridesAndOffset(strides, offset)) && strides.back() == 1;
}

/// The indexing maps of a matrix product over `batch` leading batch dimensions, as
/// `moec_rt_sgemm` computes each batch element: A (batch..., m, k), B (batch..., k, n),
/// C (batch..., m, n), with the loops in that order and k last.
static SmallVector<AffineMap> batchedMatmulMaps(MLIRContext *context, unsigned batch) {
  SmallVector<AffineExpr> batchDims;
  for (unsigned dim = 0; dim < batch; ++dim)
    batchDims.push_back(getAffineDimExpr(dim, context));
  AffineExpr m = getAffineDimExpr(batch, context), n = getAffineDimExpr(batch + 1, context),
             k = getAffineDimExpr(batch + 2, context);
  auto map = [&](AffineExpr row, AffineExpr column) {
    SmallVector<AffineExpr> results(batchDims);
    results.append({row, column});
    return AffineMap::get(batch + 3, 0, results, context);
  };
  return {map(m, k), map(k, n), map(m, n)};
}

namespace {
/// A matrix product, `linalg.matmul` or a batched contraction (what a batched ONNX MatMul
/// legalizes to: attention scores and values), becomes one `moec_rt_sgemm` call per
/// batch element, in a loop nest over the batch dimensions.
struct ContractionToRuntimeGemm : OpInterfaceRewritePattern<linalg::LinalgOp> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;

  LogicalResult matchAndRewrite(linalg::LinalgOp op, PatternRewriter &rewriter) const override {
    // Transposed or broadcast products keep the generic lowering.
    if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
        op.getNumLoops() < 3 || !linalg::isaContractionOpInterface(op))
      return failure();
    unsigned batch = op.getNumLoops() - 3;
    if (op.getIndexingMapsArray() != batchedMatmulMaps(op.getContext(), batch))
      return failure();
    Value lhs = op.getDpsInputs()[0], rhs = op.getDpsInputs()[1];
    Value out = op.getDpsInits()[0];
    for (Value operand : {lhs, rhs, out})
      if (!hasContiguousRows(llvm::cast<MemRefType>(operand.getType())))
        return failure();

    Location loc = op.getLoc();
    if (batch == 0) {
      callSgemm(rewriter, loc, lhs, rhs, out);
      rewriter.eraseOp(op);
      return success();
    }
    SmallVector<Value> lowerBounds, upperBounds, steps;
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    for (unsigned dim = 0; dim < batch; ++dim) {
      lowerBounds.push_back(zero);
      upperBounds.push_back(memref::DimOp::create(rewriter, loc, out, dim));
      steps.push_back(one);
    }
    scf::buildLoopNest(rewriter, loc, lowerBounds, upperBounds, steps,
                       [&](OpBuilder &builder, Location loc, ValueRange batchIndices) {
                         callSgemm(builder, loc, matrixAt(builder, loc, lhs, batchIndices),
                                   matrixAt(builder, loc, rhs, batchIndices),
                                   matrixAt(builder, loc, out, batchIndices));
                       });
    rewriter.eraseOp(op);
    return success();
  }

  /// The matrix of `memref` (its last two dimensions) at `batchIndices`, a rank-reducing
  /// subview.
  static Value matrixAt(OpBuilder &builder, Location loc, Value memref, ValueRange batchIndices) {
    auto type = llvm::cast<MemRefType>(memref.getType());
    SmallVector<OpFoldResult> offsets(batchIndices.begin(), batchIndices.end());
    SmallVector<OpFoldResult> sizes(batchIndices.size(), builder.getIndexAttr(1));
    for (int64_t dim = type.getRank() - 2; dim < type.getRank(); ++dim) {
      offsets.push_back(builder.getIndexAttr(0));
      sizes.push_back(memref::getMixedSize(builder, loc, memref, dim));
    }
    SmallVector<OpFoldResult> strides(type.getRank(), builder.getIndexAttr(1));
    auto matrixType = memref::SubViewOp::inferRankReducedResultType(
        type.getShape().take_back(2), type, offsets, sizes, strides);
    return memref::SubViewOp::create(builder, loc, llvm::cast<MemRefType>(matrixType), memref,
                                     offsets, sizes, strides);
  }

  /// C += A B on row-major matrices.
  static void callSgemm(OpBuilder &builder, Location loc, Value lhs, Value rhs, Value out) {
    auto i64 = builder.getI64Type();
    auto ptr = LLVM::LLVMPointerType::get(builder.getContext());
    // A row-major matrix: the address of its first element and its row stride.
    auto describe = [&](Value memref) -> std::pair<Value, Value> {
      auto metadata = memref::ExtractStridedMetadataOp::create(builder, loc, memref);
      Value base = memref::ExtractAlignedPointerAsIndexOp::create(builder, loc, memref);
      Value offsetBytes = arith::MulIOp::create(
          builder, loc, metadata.getOffset(), arith::ConstantIndexOp::create(builder, loc, 4));
      Value address = arith::AddIOp::create(builder, loc, base, offsetBytes);
      Value addressI64 = arith::IndexCastOp::create(builder, loc, i64, address);
      Value pointer = LLVM::IntToPtrOp::create(builder, loc, ptr, addressI64);
      Value leadingDim = arith::IndexCastOp::create(builder, loc, i64, metadata.getStrides()[0]);
      return {pointer, leadingDim};
    };
    auto size = [&](Value memref, int64_t dim) -> Value {
      return arith::IndexCastOp::create(builder, loc, i64,
                                        memref::DimOp::create(builder, loc, memref, dim));
    };
    auto [a, lda] = describe(lhs);
    auto [b, ldb] = describe(rhs);
    auto [c, ldc] = describe(out);
    // Linalg's contractions accumulate into their output.
    Value accumulate = arith::ConstantIntOp::create(builder, loc, 1, 32);
    func::CallOp::create(builder, loc, kSgemm, TypeRange{},
                         ValueRange{size(lhs, 0), size(rhs, 1), size(lhs, 1), a, lda, b, ldb, c,
                                    ldc, accumulate});
  }
};

struct UseRuntimeGemm : moec::impl::UseRuntimeGemmBase<UseRuntimeGemm> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    patterns.add<ContractionToRuntimeGemm>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();

    moec::declareCalledRuntimeFunctions(module, [](StringRef name) { return name == kSgemm; });
  }
};
} // namespace
