//===- ExpertLoad.cpp - The rows a grouped matmul is expected to see ------===//

#include "ExpertLoad.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace moec::moe;

namespace {
/// A tensor whose sizes along `dims` multiply to the rows a grouped matmul routes.
struct RoutedRowsSizes {
  Value shaped;
  SmallVector<int64_t> dims;
};
} // namespace

/// Where the routed rows can be read, best first: every pair of the moe.permute that laid
/// out the segments, then the slots, the rows of `slots`.
static SmallVector<RoutedRowsSizes, 2> routedRowsSizes(GroupedMatmulOp op, Value slots) {
  SmallVector<RoutedRowsSizes, 2> sizes;
  if (auto permute = op.getExpertOffsets().getDefiningOp<PermuteOp>()) {
    Value pairs = permute.getExpertIds();
    sizes.push_back(
        {pairs, llvm::to_vector(llvm::seq<int64_t>(0, cast<ShapedType>(pairs.getType()).getRank()))});
  }
  sizes.push_back({slots, {0}});
  return sizes;
}

std::optional<int64_t> moec::expectedRoutedRows(GroupedMatmulOp op) {
  for (const RoutedRowsSizes &sizes : routedRowsSizes(op, op.getResult())) {
    auto type = cast<ShapedType>(sizes.shaped.getType());
    if (llvm::any_of(sizes.dims, [&](int64_t dim) { return type.isDynamicDim(dim); }))
      continue;
    int64_t rows = 1;
    for (int64_t dim : sizes.dims)
      rows *= type.getDimSize(dim);
    return rows;
  }
  return std::nullopt;
}

int64_t moec::expectedRowsPerExpert(GroupedMatmulOp op) {
  int64_t experts = cast<ShapedType>(op.getWeights().getType()).getDimSize(0);
  std::optional<int64_t> rows = expectedRoutedRows(op);
  if (ShapedType::isDynamic(experts) || experts == 0 || !rows)
    return std::numeric_limits<int64_t>::max();
  return llvm::divideCeil(*rows, experts);
}

Value moec::expectedRowsPerExpert(OpBuilder &builder, GroupedMatmulOp op) {
  Location loc = op.getLoc();
  auto size = [&](Value shaped, int64_t dim) -> Value {
    return builder.createOrFold<tensor::DimOp>(loc, shaped, dim);
  };
  // The result's slots are those the op reads (it does not exist yet where this is built).
  Value slots = op.getSortedIds() ? Value(op.getSortedIds()) : Value(op.getInput());
  RoutedRowsSizes sizes = routedRowsSizes(op, slots).front();
  Value rows = arith::ConstantIndexOp::create(builder, loc, 1);
  for (int64_t dim : sizes.dims)
    rows = builder.createOrFold<arith::MulIOp>(loc, rows, size(sizes.shaped, dim));
  // No experts routes no rows: divide by at least one.
  Value experts = builder.createOrFold<arith::MaxUIOp>(
      loc, size(op.getWeights(), 0), arith::ConstantIndexOp::create(builder, loc, 1));
  return builder.createOrFold<arith::CeilDivUIOp>(loc, rows, experts);
}
