//===- SlotSum.cpp - The sum over each token's k slots --------------------===//

#include "SlotSum.h"

using namespace mlir;
using namespace moec;
using namespace moec::raise;

std::optional<SlotSum> moec::raise::matchSlotSum(onnx::NodeOp reduce) {
  if (!reduce.getDomain().empty() || reduce.getOpType() != "ReduceSum" ||
      reduce.getIntAttr("keepdims", 1) != 0)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> axes =
      reduce.hasInput(1) ? getIntConstant(reduce.getInputs()[1]) : reduce.getIntsAttr("axes");
  auto summed = llvm::dyn_cast<RankedTensorType>(reduce.getInputs()[0].getType());
  if (!axes || *axes != SmallVector<int64_t>{1} || !summed || summed.getRank() != 3 ||
      summed.isDynamicDim(1) || summed.isDynamicDim(2))
    return std::nullopt;
  return SlotSum{reduce.getInputs()[0], summed.getDimSize(1), summed.getDimSize(2)};
}
