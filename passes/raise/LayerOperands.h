//===- LayerOperands.h - moe.layer's operands from matched weights -*- C++ -*-===//
//
// The raising passes find a layer's weights in the model's layouts ([out, in] or [in, out]
// matrices, per expert or stacked, gate and up apart, interleaved or in halves) and build
// moe.layer's operands from them: `[E, H]` router, `[E, H, N]` up (gate columns first),
// `[E, I, H]` down, `[E, N]` biases. A constant already in moe.layer's layout is used as it
// is; any other is gathered into a new one (WeightStack.h).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_LAYEROPERANDS_H
#define MOEC_PASSES_RAISE_LAYEROPERANDS_H

#include "ExpertMatcher.h"

#include "mlir/IR/Builders.h"

namespace moec::raise {

/// The name of the constant `value`, for the constants derived from it.
llvm::StringRef getConstantName(mlir::Value value);

/// `value` (a constant) with its elements viewed as `type`, of the same size; no copy.
mlir::Value retypeConstant(mlir::OpBuilder &builder, mlir::Value value,
                           mlir::RankedTensorType type);

/// The router weight as moe.layer takes it, `[E, H]`.
mlir::FailureOr<mlir::Value> buildRouterWeight(mlir::OpBuilder &builder, const Linear &router);

/// Columns `first, first + step, ...` (`count` of them) of each expert's `[in, out]` matrix.
struct ColumnRun {
  int64_t first = 0, step = 1, count = 0;
};

/// The runs of the up projection's columns in moe.layer's order, gate first, for a body
/// whose gate and up columns are in one projection (or that has no gate).
llvm::SmallVector<ColumnRun, 2> getUpColumnRuns(const ExpertBody &body);

/// A stacked Linear's weight as moe.layer takes it, `[E, in, N]`, each expert's columns
/// being `runs` of its `[in, out]` matrix (N their total).
mlir::FailureOr<mlir::Value> buildStackedWeight(mlir::OpBuilder &builder, const Linear &linear,
                                                llvm::ArrayRef<ColumnRun> runs);

/// A stacked Linear's bias (`[E, out]` or `[E, 1, out]`) as moe.layer takes it, `[E, N]`,
/// each expert's columns being `runs`; null when it has none.
mlir::FailureOr<mlir::Value> buildStackedBias(mlir::OpBuilder &builder, const Linear &linear,
                                              llvm::ArrayRef<ColumnRun> runs);

/// `result`, moe.layer's `[T, H]` (the tokens' type), as the replaced node declares its
/// result (`declared`, maybe less static: a graph output declared `[?, ?]`): through a
/// tensor.cast when they differ. Null when they are not cast-compatible.
mlir::Value castLayerResult(mlir::OpBuilder &builder, mlir::Value result, mlir::Type declared);

/// moe.layer's shared-expert operands: up `[H, N]` (gate columns first), down `[I, H]` and
/// the optional sigmoid gate `[H, 1]` (null without one).
struct SharedExpertWeights {
  mlir::Value up, down, gate;
};

/// Builds the shared expert's operands, their constants named `prefix` + "shared_up", ...
mlir::FailureOr<SharedExpertWeights> buildSharedExpertWeights(mlir::OpBuilder &builder,
                                                              mlir::Location loc,
                                                              llvm::StringRef prefix,
                                                              const SharedExpert &shared);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_LAYEROPERANDS_H
