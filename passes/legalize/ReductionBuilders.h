//===- ReductionBuilders.h - Builders shared by reductions and normalizations ===//
//
// Reductions, softmax-like ops and normalizations all reduce an input over a set of its
// dimensions and then combine the reduced values with the input elementwise. A reduced
// value is kept without its reduced dimensions; an operand in that form is read back at any
// input position through a projected indexing map, so nothing is broadcast in memory.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_LEGALIZE_REDUCTIONBUILDERS_H
#define MOEC_PASSES_LEGALIZE_REDUCTIONBUILDERS_H

#include "Common.h"

namespace moec::legalize {

/// Builds one scalar from the elements of a linalg.generic body: the input element and the
/// reduced operands at its position, and (for a reduction) the accumulator last.
using ScalarBody =
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// A float or integer constant of scalar `type`.
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                           double value);

/// `empty` filled with scalar `value`.
mlir::Value filled(mlir::OpBuilder &b, mlir::Location loc, mlir::Value empty,
                   mlir::Value value);

/// `x > y` (`greater`) or `x < y` for floats (ordered) or integers (signed or not).
mlir::Value orderedCompare(mlir::OpBuilder &b, mlir::Location loc, bool greater, mlir::Value x,
                           mlir::Value y, bool isUnsigned);
/// `x == y` for floats (ordered) or integers.
mlir::Value equalTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y);

/// The identity of max (`greatest`) or min over `type`: an infinity, or the extreme integer.
mlir::Value extremeIdentity(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                            bool greatest, bool isUnsigned);

/// Reduces `input` over the dimensions where `reduced` is set into a tensor without them,
/// starting from `init` (a scalar). `body` gets the input element, the elements of
/// `reducedOperands` (each in reduced form) and the accumulator.
mlir::Value buildReduction(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                           llvm::ArrayRef<bool> reduced, mlir::ValueRange reducedOperands,
                           mlir::Value init, ScalarBody body);

/// Maps every element of `input` to one of `elementType`; `body` gets the input element and
/// the elements of `reducedOperands` (each in reduced form) at its position.
mlir::Value buildWithReduced(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                             llvm::ArrayRef<bool> reduced, mlir::ValueRange reducedOperands,
                             mlir::Type elementType, ScalarBody body);

/// The number of input elements reduced into each result element, as an index.
mlir::Value reducedCount(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                         llvm::ArrayRef<bool> reduced);

/// Reinserts the reduced dimensions of `value` (in reduced form) as size 1, then casts to
/// `type`.
mlir::Value expandReduced(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                          llvm::ArrayRef<bool> reduced, mlir::RankedTensorType type);

/// The position of the greatest (or least) element over the reduced dimensions, linearized
/// in row-major order over them; ties go to the first (or `last`) position.
mlir::Value buildArgExtremum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                             llvm::ArrayRef<bool> reduced, bool greatest, bool last,
                             bool isUnsigned);

/// The row-major position of the current iteration over the reduced dimensions, as i64,
/// inside a linalg.generic over the input's dimensions (of sizes `sizes`).
mlir::Value linearReducedIndex(mlir::OpBuilder &b, mlir::Location loc,
                               llvm::ArrayRef<bool> reduced, llvm::ArrayRef<mlir::Value> sizes);

/// Float scalar `x` extended or truncated to float type `type`.
mlir::Value castFloat(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Type type);
/// The float tensor `value` with its elements cast to `type`.
mlir::Value convertFloats(const Node &node, mlir::OpBuilder &b, mlir::Location loc, mlir::Value value,
                          mlir::Type type);
/// The type normalizations compute in for float type `type`: f32 for narrower floats,
/// whose exponentials and sums would lose too much precision, else `type` itself.
mlir::Type computeFloatType(mlir::Type type);

/// The type of `input`, or a failure naming the node when it is not a ranked tensor.
mlir::FailureOr<mlir::RankedTensorType> getRankedInput(const Node &node, mlir::Value input);

/// An ONNX axis normalized into [0, rank), or a failure naming the node when out of range.
mlir::FailureOr<int64_t> getAxis(const Node &node, int64_t axis, int64_t rank);

} // namespace moec::legalize

#endif // MOEC_PASSES_LEGALIZE_REDUCTIONBUILDERS_H
