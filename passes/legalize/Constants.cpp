//===- Constants.cpp - Initializers, Constant nodes and absent inputs -----===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

namespace {
/// An initializer or Constant becomes an `arith.constant` over the same data: dense
/// resources are re-typed, never copied.
struct LegalizeConstant : OpConversionPattern<onnx::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(onnx::ConstantOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto type = llvm::dyn_cast_or_null<RankedTensorType>(
        getTypeConverter()->convertType(op.getType()));
    if (!type || !type.getElementType().isIntOrIndexOrFloat())
      return op.emitError() << "initializer '" << op.getName() << "' has type " << op.getType()
                            << ", which compiled code cannot hold yet";
    TypedAttr value = retypeElements(op.getValue(), type);
    if (!value)
      return op.emitError() << "initializer '" << op.getName()
                            << "' holds data of a kind compiled code cannot hold yet";
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, type, value);
    return success();
  }
};

/// Absent optional inputs disappear with the nodes that took them.
struct EraseNone : OpConversionPattern<onnx::NoneOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(onnx::NoneOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void moec::legalize::populateConstantPatterns(RewritePatternSet &patterns,
                                              const TypeConverter &typeConverter) {
  patterns.add<LegalizeConstant, EraseNone>(typeConverter, patterns.getContext());
}
