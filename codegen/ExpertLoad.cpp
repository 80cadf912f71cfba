//===- ExpertLoad.cpp - The rows a grouped matmul is expected to see ------===//

#include "ExpertLoad.h"

#include <limits>

using namespace mlir;
using namespace moec::moe;

std::optional<int64_t> moec::expectedRoutedRows(GroupedMatmulOp op) {
  if (auto permute = op.getExpertOffsets().getDefiningOp<PermuteOp>()) {
    auto pairs = cast<ShapedType>(permute.getExpertIds().getType());
    if (pairs.hasStaticShape())
      return pairs.getNumElements();
  }
  int64_t slots = cast<ShapedType>(op.getResult().getType()).getDimSize(0);
  if (ShapedType::isDynamic(slots))
    return std::nullopt;
  return slots;
}

int64_t moec::expectedRowsPerExpert(GroupedMatmulOp op) {
  int64_t experts = cast<ShapedType>(op.getWeights().getType()).getDimSize(0);
  std::optional<int64_t> rows = expectedRoutedRows(op);
  if (ShapedType::isDynamic(experts) || experts == 0 || !rows)
    return std::numeric_limits<int64_t>::max();
  return llvm::divideCeil(*rows, experts);
}
