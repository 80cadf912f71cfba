//===- Common.h - Shared pieces of the ONNX legalization patterns ---------===//
//
// Every ONNX op type is legalized by a pattern derived from NodePattern, which matches
// `onnx.node` ops of one op type in the default domain and hands the derived class a Node
// view: typed access to the node's attributes and result types, and diagnostics that name
// the node. The builders below are shared by all op families.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_LEGALIZE_COMMON_H
#define MOEC_PASSES_LEGALIZE_COMMON_H

#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/Builders.h"
#include "mlir/Transforms/DialectConversion.h"

#include <optional>

namespace moec::legalize {

/// A view of one ONNX node being legalized.
class Node {
public:
  Node(onnx::NodeOp op, const mlir::TypeConverter &typeConverter)
      : op(op), typeConverter(typeConverter) {}

  onnx::NodeOp getOp() const { return op; }
  mlir::Location getLoc() const { return op.getLoc(); }
  llvm::StringRef getOpType() const { return op.getOpType(); }
  unsigned getNumInputs() const { return op.getInputs().size(); }
  unsigned getNumResults() const { return op.getNumResults(); }

  /// Whether input `index` exists and is not an absent optional input (`onnx.none`).
  bool hasInput(unsigned index) const;

  /// The type of result `index` after type conversion (unsigned integers become signless).
  mlir::RankedTensorType getResultType(unsigned index) const;
  /// The element type of input `index` / result `index` as ONNX declared it, signedness
  /// included.
  mlir::Type getInputElementType(unsigned index) const;
  mlir::Type getResultElementType(unsigned index) const;

  /// ONNX attributes; the defaults are ONNX's defaults for the op.
  bool hasAttr(llvm::StringRef name) const;
  int64_t getInt(llvm::StringRef name, int64_t defaultValue) const;
  double getFloat(llvm::StringRef name, double defaultValue) const;
  llvm::StringRef getString(llvm::StringRef name, llvm::StringRef defaultValue) const;
  std::optional<llvm::SmallVector<int64_t>> getInts(llvm::StringRef name) const;
  std::optional<llvm::SmallVector<double>> getFloats(llvm::StringRef name) const;
  mlir::ElementsAttr getTensor(llvm::StringRef name) const;

  /// Emits "node 'NAME' (OP_TYPE): MESSAGE" on the node and returns failure.
  mlir::LogicalResult fail(const llvm::Twine &message) const;

private:
  // Op handles are cheap values whose accessors are not const.
  mutable onnx::NodeOp op;
  const mlir::TypeConverter &typeConverter;
};

/// Base of the pattern that legalizes one ONNX op type of the default domain.
class NodePattern : public mlir::OpConversionPattern<onnx::NodeOp> {
public:
  NodePattern(llvm::StringRef opType, const mlir::TypeConverter &typeConverter,
              mlir::MLIRContext *context)
      : OpConversionPattern(typeConverter, context), opType(opType.str()) {}

  mlir::LogicalResult
  matchAndRewrite(onnx::NodeOp op, OpAdaptor adaptor,
                  mlir::ConversionPatternRewriter &rewriter) const final;

  llvm::StringRef getOpType() const { return opType; }

protected:
  /// Replaces `node` given its inputs after type conversion. On an unsupported input,
  /// returns `node.fail(...)`.
  virtual mlir::LogicalResult rewrite(const Node &node, mlir::ValueRange inputs,
                                      mlir::ConversionPatternRewriter &rewriter) const = 0;

private:
  std::string opType;
};

/// Converts ONNX's tensor types to the signless types upstream dialects compute on.
class ONNXTypeConverter : public mlir::TypeConverter {
public:
  ONNXTypeConverter();
};

/// Builds `result[i...] = body(operand_0[j...], ...)` over `resultType`, numpy-broadcasting
/// the operands (right-aligned; a static size-1 dimension is broadcast). A dynamic
/// dimension is never assumed to be 1: it must equal the result's, which is checked at
/// run time.
mlir::Value buildElementwise(
    mlir::OpBuilder &builder, mlir::Location loc, mlir::RankedTensorType resultType,
    mlir::ValueRange operands,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)> body);

/// The sizes of `value`'s dynamic dimensions, as `tensor.empty` takes them.
llvm::SmallVector<mlir::Value> dynamicSizes(mlir::OpBuilder &builder, mlir::Location loc,
                                            mlir::Value value);

/// The integer contents of a constant tensor (an `arith.constant`, or an `onnx.constant`
/// not converted yet), or nothing if `value` is not a compile-time constant.
std::optional<llvm::SmallVector<int64_t>> getConstantInts(mlir::Value value);

/// Casts `value` to `type` (same rank, sizes only more or less static) if they differ.
mlir::Value castToType(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value value,
                       mlir::Type type);

/// Normalizes an ONNX axis (negative counts from the end) into [0, rank), or nothing if it
/// is out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// Pattern families, one file each.
void populateConstantPatterns(mlir::RewritePatternSet &patterns,
                              const mlir::TypeConverter &typeConverter);
void populateElementwisePatterns(mlir::RewritePatternSet &patterns,
                                 const mlir::TypeConverter &typeConverter);
void populateMatmulPatterns(mlir::RewritePatternSet &patterns,
                            const mlir::TypeConverter &typeConverter);
void populateReductionPatterns(mlir::RewritePatternSet &patterns,
                               const mlir::TypeConverter &typeConverter);
void populateIndexingPatterns(mlir::RewritePatternSet &patterns,
                              const mlir::TypeConverter &typeConverter);
void populateShapePatterns(mlir::RewritePatternSet &patterns,
                           const mlir::TypeConverter &typeConverter);

/// All of the families above.
void populateONNXLegalizationPatterns(mlir::RewritePatternSet &patterns,
                                      const mlir::TypeConverter &typeConverter);

} // namespace moec::legalize

#endif // MOEC_PASSES_LEGALIZE_COMMON_H
