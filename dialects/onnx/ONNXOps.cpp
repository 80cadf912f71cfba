//===- ONNXOps.cpp - Verifiers and accessors of onnx ops ------------------===//

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

//===----------------------------------------------------------------------===//
// NodeOp accessors
//===----------------------------------------------------------------------===//

bool NodeOp::hasNodeAttr(StringRef name) { return getNodeAttrs().contains(name); }

int64_t NodeOp::getIntAttr(StringRef name, int64_t defaultValue) {
  if (auto attr = getNodeAttrs().getAs<IntegerAttr>(name))
    return attr.getInt();
  return defaultValue;
}

double NodeOp::getFloatAttr(StringRef name, double defaultValue) {
  if (auto attr = getNodeAttrs().getAs<FloatAttr>(name))
    return attr.getValueAsDouble();
  return defaultValue;
}

StringRef NodeOp::getStringAttr(StringRef name, StringRef defaultValue) {
  if (auto attr = getNodeAttrs().getAs<StringAttr>(name))
    return attr.getValue();
  return defaultValue;
}

std::optional<SmallVector<int64_t>> NodeOp::getIntsAttr(StringRef name) {
  if (auto attr = getNodeAttrs().getAs<DenseI64ArrayAttr>(name))
    return SmallVector<int64_t>(attr.asArrayRef());
  return std::nullopt;
}

std::optional<SmallVector<double>> NodeOp::getFloatsAttr(StringRef name) {
  if (auto attr = getNodeAttrs().getAs<DenseF32ArrayAttr>(name))
    return llvm::map_to_vector(attr.asArrayRef(), [](float v) { return double(v); });
  return std::nullopt;
}

ElementsAttr NodeOp::getTensorAttr(StringRef name) {
  return getNodeAttrs().getAs<ElementsAttr>(name);
}

Value NodeOp::getOptionalInput(unsigned index) {
  if (index >= getInputs().size() || isa<NoneType>(getInputs()[index].getType()))
    return Value();
  return getInputs()[index];
}

std::optional<int64_t> NodeOp::getOpsetVersion() {
  return getOpsetImport(*this, getDomain());
}

std::optional<int64_t> moec::onnx::getOpsetImport(Operation *scope, StringRef domain) {
  if (domain.empty())
    domain = "ai.onnx";
  for (Operation *op = scope; op; op = op->getParentOp())
    if (auto opsets = op->getAttrOfType<DictionaryAttr>("onnx.opset_imports")) {
      if (auto version = opsets.getAs<IntegerAttr>(domain))
        return version.getInt();
      return std::nullopt;
    }
  return std::nullopt;
}
