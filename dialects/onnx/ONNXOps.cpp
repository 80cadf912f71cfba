//===- ONNXOps.cpp - Verifiers of onnx ops --------------------------------===//

#include "moec/Dialect/ONNX/ONNX.h"

#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace moec::onnx;

#define GET_OP_CLASSES
#include "dialects/onnx/ONNXOps.cpp.inc"

LogicalResult NodeOp::verify() {
  if (getOpType().empty())
    return emitOpError("needs a non-empty op_type");

  // Every region is the graph of exactly one GRAPH attribute or GRAPHS element.
  unsigned numRegions = getNumRegions();
  llvm::SmallBitVector referenced(numRegions);
  auto checkGraphRef = [&](StringAttr name, Attribute value) -> LogicalResult {
    auto graph = dyn_cast<GraphAttr>(value);
    if (!graph)
      return success();
    unsigned index = graph.getRegionIndex();
    if (index >= numRegions)
      return emitOpError("attribute '") << name.getValue() << "' refers to region " << index
                                        << ", but the node has " << numRegions;
    if (referenced.test(index))
      return emitOpError("region ") << index << " is the graph of more than one attribute";
    referenced.set(index);
    return success();
  };
  for (NamedAttribute attribute : getNodeAttrs()) {
    Attribute value = attribute.getValue();
    auto list = dyn_cast<ArrayAttr>(value);
    for (Attribute element : list ? list.getValue() : ArrayRef<Attribute>(value))
      if (failed(checkGraphRef(attribute.getName(), element)))
        return failure();
  }
  if (!referenced.all())
    return emitOpError("region ") << referenced.find_first_unset()
                                  << " is not the graph of any attribute";

  for (Region &region : getSubgraphs())
    if (region.front().empty() || !isa<YieldOp>(region.front().back()))
      return emitOpError("subgraph regions must end in onnx.yield");
  return success();
}
