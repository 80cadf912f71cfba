//===- ExpertChoice.cpp - The node that chooses every token's experts -----===//

#include "ExpertChoice.h"

#include "SparseMixerMatcher.h"

using namespace mlir;
using namespace moec;
using namespace moec::raise;

onnx::NodeOp moec::raise::getExpertChoice(Value ids) {
  if (onnx::NodeOp topK = getDefiningNode(ids, "TopK"))
    return topK->getResult(1) == ids ? topK : nullptr;
  onnx::NodeOp concat = getDefiningNode(ids, "Concat");
  return concat && isSparseMixerChoice(concat) ? concat : nullptr;
}

FailureOr<Routing> moec::raise::matchRoutingOfChoice(onnx::NodeOp choice, Reason &reason) {
  if (choice.getOpType() == "TopK")
    return matchRouting(choice, reason);
  return matchSparseMixerRouting(choice, reason);
}
