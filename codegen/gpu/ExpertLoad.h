//===- ExpertLoad.h - The rows a grouped matmul is expected to see -*- C++ -*-===//
//
// Kernels for grouped matmuls are chosen and tiled from the rows that the experts are
// expected to see; this derives them from the shapes, one rule for every lowering: at
// compile time from static shapes, or as a value computed from the sizes at run time.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_EXPERTLOAD_H
#define MOEC_CODEGEN_EXPERTLOAD_H

#include "moec/Dialect/MoE/MoE.h"

#include "mlir/IR/Builders.h"

#include <optional>

namespace moec {

/// The rows `op` multiplies over all experts, when static shapes tell: the pairs of the
/// moe.permute of a static number of tokens that laid out its segments (the padding of
/// the sorted layout is not work), else its static slot count.
std::optional<int64_t> expectedRoutedRows(moe::GroupedMatmulOp op);

/// The rows every expert of `op` is expected to see: the routed rows spread over the
/// experts (rounded up), or the largest int64_t ("many") when shapes do not tell.
int64_t expectedRowsPerExpert(moe::GroupedMatmulOp op);

/// The same rule on the sizes the program has at run time (an index computed at
/// `builder`'s insertion point from `tensor.dim`s of host-known sizes, never from tensor
/// elements): the permute's pairs, else the slots, over the experts, rounded up.
mlir::Value expectedRowsPerExpert(mlir::OpBuilder &builder, moe::GroupedMatmulOp op);

} // namespace moec

#endif // MOEC_CODEGEN_EXPERTLOAD_H
