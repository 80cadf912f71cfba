//===- Constants.cpp - Initializers, Constant nodes and absent inputs -----===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

/// Small constants (scalars, short vectors) become dense elements, which folders and
/// canonicalizations can see through; weights stay resources, never copied.
static TypedAttr inlineIfSmall(RankedTensorType type, DenseResourceElementsAttr resource) {
  constexpr int64_t kInlineElements = 16;
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  if (!blob || type.getNumElements() > kInlineElements)
    return DenseResourceElementsAttr::get(type, resource.getRawHandle());
  ArrayRef<char> bytes = blob->getData();
  if (type.getElementType().isInteger(1)) {
    // ONNX stores one byte per bool; dense elements pack bits.
    SmallVector<bool> bools = llvm::map_to_vector(bytes, [](char b) { return b != 0; });
    return DenseElementsAttr::get(type, ArrayRef<bool>(bools));
  }
  return DenseElementsAttr::getFromRawBuffer(type, bytes);
}

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
    TypedAttr value;
    if (auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(op.getValue()))
      value = inlineIfSmall(type, resource);
    else if (auto dense = llvm::dyn_cast<DenseElementsAttr>(op.getValue()))
      value = dense.bitcast(type.getElementType());
    else
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
