//===- SlotSum.h - The sum over each token's k slots ------------*- C++ -*-===//
//
// The exports that compute every (token, slot) pair's expert row at once (transformers 5's
// `batched_mm` and `grouped_mm` experts) end with the rows of the pairs `[T * k, H]`, pair
// `t * k + s` being token t's slot s, viewed as `[T, k, H]` and summed over the slots.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_SLOTSUM_H
#define MOEC_PASSES_RAISE_SLOTSUM_H

#include "ONNXMatch.h"

namespace moec::raise {

/// `ReduceSum(summed, axes = [1], keepdims = 0)` of `summed` `[T, k, H]` with static k and H.
struct SlotSum {
  mlir::Value summed;
  int64_t k = 0, hidden = 0;
};
std::optional<SlotSum> matchSlotSum(onnx::NodeOp reduce);

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_SLOTSUM_H
