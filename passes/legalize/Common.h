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

#include <functional>
#include <optional>

namespace moec::legalize {

/// One ONNX node being legalized: the op, whose own accessors (`node->getIntAttr(...)`,
/// `node->hasInput(i)`, `node->getOpsetVersion()`, ...) read its attributes, inputs and
/// opset, and what only legalization knows: the result types after type conversion and
/// diagnostics that name the node.
class Node {
public:
  Node(onnx::NodeOp op, const mlir::TypeConverter &typeConverter)
      : op(op), typeConverter(typeConverter) {}

  onnx::NodeOp getOp() const { return op; }
  /// The op's accessors.
  onnx::NodeOp *operator->() const { return &op; }

  /// The type of result `index` after type conversion (unsigned integers become signless).
  mlir::RankedTensorType getResultType(unsigned index) const;
  /// The element type of input `index` / result `index` as ONNX declared it, signedness
  /// included.
  mlir::Type getInputElementType(unsigned index) const;
  mlir::Type getResultElementType(unsigned index) const;

  /// Emits "node 'NAME' (OP_TYPE): MESSAGE" on the node and returns failure.
  mlir::LogicalResult fail(const llvm::Twine &message) const;

  /// Emits a `moe.check` that `holds` (an i1) at run time, whose failure stops the program
  /// with "node 'NAME' (OP_TYPE): MESSAGE", `{0}` and `{1}` in MESSAGE standing for
  /// `values` (at most two integers or indices).
  void check(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value holds,
             const llvm::Twine &message, mlir::ValueRange values = {}) const;

private:
  // Op handles are cheap values whose accessors are not const.
  mutable onnx::NodeOp op;
  const mlir::TypeConverter &typeConverter;
};

/// Emits a `moe.check` that `holds` at run time, whose failure prints `subject` (the model's
/// text, taken literally) followed by `message` (`{0}` and `{1}` standing for `values`).
void emitCheck(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value holds,
               llvm::StringRef subject, const llvm::Twine &message, mlir::ValueRange values);

/// The one base of every pattern that legalizes an ONNX op: it matches `onnx.node` ops of one
/// op type in the default domain, checks that every result (and, with Inputs::Ranked, every
/// present input) is a ranked tensor, and hands the rewrite a Node. A pattern with state
/// derives from it and overrides `rewrite`; one without is given as a RewriteFn.
class NodePattern : public mlir::OpConversionPattern<onnx::NodeOp> {
public:
  /// Replaces `node` given its inputs after type conversion. On an unsupported input,
  /// returns `node.fail(...)`.
  using RewriteFn = std::function<mlir::LogicalResult(const Node &node, mlir::ValueRange inputs,
                                                      mlir::ConversionPatternRewriter &)>;
  /// What the pattern checks of the node's inputs before rewriting it.
  enum class Inputs {
    Any,
    /// Every present input is a ranked tensor ("input N is not a ranked tensor").
    Ranked,
  };

  NodePattern(llvm::StringRef opType, const mlir::TypeConverter &typeConverter,
              mlir::MLIRContext *context, Inputs inputs = Inputs::Any)
      : OpConversionPattern(typeConverter, context), opType(opType.str()), inputs(inputs) {}
  NodePattern(llvm::StringRef opType, RewriteFn fn, const mlir::TypeConverter &typeConverter,
              mlir::MLIRContext *context, Inputs inputs = Inputs::Any)
      : OpConversionPattern(typeConverter, context), opType(opType.str()), fn(std::move(fn)),
        inputs(inputs) {}

  mlir::LogicalResult
  matchAndRewrite(onnx::NodeOp op, OpAdaptor adaptor,
                  mlir::ConversionPatternRewriter &rewriter) const final;

  llvm::StringRef getOpType() const { return opType; }

protected:
  /// Replaces `node` given its inputs after type conversion; by default, calls the
  /// RewriteFn the pattern was made with.
  virtual mlir::LogicalResult rewrite(const Node &node, mlir::ValueRange inputs,
                                      mlir::ConversionPatternRewriter &rewriter) const;

private:
  std::string opType;
  RewriteFn fn;
  Inputs inputs;
};

/// Converts ONNX's tensor types to the signless types upstream dialects compute on.
class ONNXTypeConverter : public mlir::TypeConverter {
public:
  ONNXTypeConverter();
};

/// Builds `result[i...] = body(operand_0[j...], ...)` over `resultType`, numpy-broadcasting
/// the operands (right-aligned; a static size-1 dimension is broadcast). A dynamic
/// dimension is never assumed to be 1: it must equal the result's, which is checked at
/// run time, failing with a message that names `node`.
mlir::Value buildElementwise(
    const Node &node, mlir::OpBuilder &builder, mlir::Location loc, mlir::RankedTensorType resultType,
    mlir::ValueRange operands,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)> body);

/// The sizes of `value`'s dynamic dimensions, as `tensor.empty` takes them.
llvm::SmallVector<mlir::Value> dynamicSizes(mlir::OpBuilder &builder, mlir::Location loc,
                                            mlir::Value value);

/// The integer contents of a constant tensor (an `arith.constant`, or an `onnx.constant`
/// not converted yet), or nothing if `value` is not a compile-time constant.
std::optional<llvm::SmallVector<int64_t>> getConstantInts(mlir::Value value);

/// The data of an onnx-level constant or tensor attribute as an attribute of `type` (the
/// same shape, signless): dense elements re-typed; resources kept, never copied, unless they
/// are small (dense elements, which folders and canonicalizations see through) or bools
/// (which LLVM cannot hold as a resource). Null for data of another kind.
mlir::TypedAttr retypeElements(mlir::ElementsAttr elements, mlir::RankedTensorType type);

/// Casts `value` to `type` (same rank, sizes only more or less static) if they differ.
mlir::Value castToType(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value value,
                       mlir::Type type);

/// Normalizes an ONNX axis (negative counts from the end) into [0, rank), or nothing if it
/// is out of range.
std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// Requires dimension `dim` of `value` to equal (or, with `atMost`, not to exceed)
/// dimension `boundDim` of `bound`, as the node's spec does: a compile-time error when both
/// are static, else a run-time check; the message calls them `valueName` and `boundName`.
mlir::LogicalResult requireDim(const Node &node, mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value value, llvm::StringRef valueName, int64_t dim,
                               mlir::Value bound, llvm::StringRef boundName, int64_t boundDim,
                               bool atMost);

/// Normalizes an ONNX axis known only at run time (an integer or index scalar) into
/// [0, rank), checking at run time that it lies in [-rank, rank) (the message names
/// `node`).
mlir::Value normalizeRuntimeAxis(const Node &node, mlir::OpBuilder &builder, mlir::Location loc,
                                 mlir::Value axis, int64_t rank);

/// Pattern families, one file each.
void populateConstantPatterns(mlir::RewritePatternSet &patterns,
                              const mlir::TypeConverter &typeConverter);
void populateElementwisePatterns(mlir::RewritePatternSet &patterns,
                                 const mlir::TypeConverter &typeConverter);
void populateMatmulPatterns(mlir::RewritePatternSet &patterns,
                            const mlir::TypeConverter &typeConverter);
void populateReductionPatterns(mlir::RewritePatternSet &patterns,
                               const mlir::TypeConverter &typeConverter);
void populateNormalizationPatterns(mlir::RewritePatternSet &patterns,
                                   const mlir::TypeConverter &typeConverter);
void populateEinsumPatterns(mlir::RewritePatternSet &patterns,
                            const mlir::TypeConverter &typeConverter);
void populateIndexingPatterns(mlir::RewritePatternSet &patterns,
                              const mlir::TypeConverter &typeConverter);
void populateShapePatterns(mlir::RewritePatternSet &patterns,
                           const mlir::TypeConverter &typeConverter);
void populateRecurrencePatterns(mlir::RewritePatternSet &patterns,
                                const mlir::TypeConverter &typeConverter);

/// All of the families above (LegalizeONNX.cpp).
void populateONNXLegalizationPatterns(mlir::RewritePatternSet &patterns,
                                      const mlir::TypeConverter &typeConverter);

} // namespace moec::legalize

#endif // MOEC_PASSES_LEGALIZE_COMMON_H
