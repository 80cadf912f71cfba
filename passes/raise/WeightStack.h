//===- WeightStack.h - Building moe.layer's rearranged weights ---*- C++ -*-===//
//
// Raising often has to rearrange weights into moe.layer's layouts: per-expert matrices
// stacked into `[E, K, N]`, `[out, in]` matrices transposed, gate and up columns
// de-interleaved or put side by side. Weights can take more than the machine's memory, so
// every raise builds such a constant with `createWeightStack`: it gathers straight from the
// source constants (no per-expert copies), one band of rows at a time, into a temporary
// file that becomes the constant's blob (moec::ScratchFile), and releases each expert's
// source pages once gathered. Only a band stays on the heap.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_WEIGHTSTACK_H
#define MOEC_PASSES_RAISE_WEIGHTSTACK_H

#include "ONNXMatch.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace moec::raise {

/// Some columns of one expert's `[rows, columns]` matrix as moe.layer wants it, read in
/// place: element (row, column) is element `first + row * rowStride + column * columnStride`
/// of `source`. Without a source the columns are zeros.
struct SourceColumns {
  llvm::ArrayRef<char> source;
  int64_t first = 0;
  int64_t rowStride = 0;
  int64_t columnStride = 0;
  int64_t columns = 0;
  /// The source bytes this expert reads, released once it is gathered.
  llvm::ArrayRef<char> expertBytes;

  /// Columns `first, first + step, ...` (`count` of them) of the `[rows, columns]` matrix
  /// at element `offset` of `constant`, stored row-major, or `[columns, rows]` when
  /// `transposed`. A splat's every element is its one element.
  static SourceColumns ofMatrix(const ConstantBytes &constant, int64_t offset, int64_t rows,
                                int64_t columns, bool transposed, int64_t first = 0,
                                int64_t step = 1, std::optional<int64_t> count = std::nullopt);
  /// `count` columns of zeros.
  static SourceColumns zeros(int64_t count);
};

/// The columns of one expert's matrix, left to right.
using ExpertColumns = llvm::SmallVector<SourceColumns, 2>;
/// How many columns `parts` are together.
int64_t countColumns(llvm::ArrayRef<SourceColumns> parts);

/// Stacks from this size on are built in a temporary file: smaller ones are not worth one.
constexpr size_t kFileBackedStackBytes = size_t(1) << 20;

/// Creates `onnx.constant` `name` of `type`, whose elements are `experts` matrices of `rows`
/// rows one after another (`type` is `[experts, rows, N]`, or any shape of that many
/// elements), expert `e`'s columns being `columnsOf(e)`. Stacks of `fileBackedBytes` or more
/// live in a temporary file (`TMPDIR`); if that cannot be written, it is an error at `loc`.
mlir::FailureOr<mlir::Value>
createWeightStack(mlir::OpBuilder &builder, mlir::Location loc, mlir::RankedTensorType type,
                  llvm::StringRef name, int64_t experts, int64_t rows,
                  llvm::function_ref<ExpertColumns(int64_t expert)> columnsOf,
                  size_t fileBackedBytes = kFileBackedStackBytes);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_WEIGHTSTACK_H
