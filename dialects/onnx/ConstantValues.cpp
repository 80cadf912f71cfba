//===- ConstantValues.cpp - Reading the values of onnx-level constants ----===//

#include "moec/Dialect/ONNX/ConstantValues.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

std::optional<moec::onnx::ElementsBytes> moec::onnx::getElementsBytes(ElementsAttr elements) {
  auto type = elements ? dyn_cast<RankedTensorType>(elements.getType()) : RankedTensorType();
  if (!type || !type.hasStaticShape() || !type.getElementType().isIntOrFloat() ||
      type.getElementTypeBitWidth() % 8 != 0)
    return std::nullopt;
  ElementsBytes result{type, {}, false};
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != type.getNumElements() * result.getElementBytes())
      return std::nullopt;
    result.bytes = blob->getData();
    return result;
  }
  auto dense = dyn_cast<DenseElementsAttr>(elements);
  if (!dense)
    return std::nullopt;
  result.bytes = dense.getRawData();
  result.splat = dense.isSplat();
  return result;
}

std::optional<SmallVector<int64_t>> moec::onnx::getIntValues(ElementsAttr elements,
                                                             int64_t maxElements) {
  // Checked before reading: `elements` may be gigabytes of weights.
  auto type = elements ? dyn_cast<RankedTensorType>(elements.getType()) : RankedTensorType();
  if (!type || !type.hasStaticShape() || type.getNumElements() > maxElements ||
      !type.getElementType().isInteger())
    return std::nullopt;
  bool isUnsigned = type.getElementType().isUnsignedInteger();
  if (auto dense = dyn_cast<DenseIntElementsAttr>(elements))
    return llvm::map_to_vector(dense.getValues<APInt>(), [&](const APInt &value) {
      return isUnsigned ? int64_t(value.getZExtValue()) : value.getSExtValue();
    });
  if (type.getElementTypeBitWidth() != 32 && type.getElementTypeBitWidth() != 64)
    return std::nullopt;
  std::optional<ElementsBytes> bytes = getElementsBytes(elements);
  if (!bytes)
    return std::nullopt;
  bool wide = type.getElementTypeBitWidth() == 64;
  SmallVector<int64_t> values;
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
    const char *at = bytes->bytes.data() + (bytes->splat ? 0 : i * bytes->getElementBytes());
    // Read as integers: INT64_MAX (torch's open slice end) does not survive a double.
    if (wide) {
      int64_t element;
      std::memcpy(&element, at, sizeof(element));
      if (isUnsigned && element < 0)
        return std::nullopt;
      values.push_back(element);
    } else if (isUnsigned) {
      uint32_t element;
      std::memcpy(&element, at, sizeof(element));
      values.push_back(element);
    } else {
      int32_t element;
      std::memcpy(&element, at, sizeof(element));
      values.push_back(element);
    }
  }
  return values;
}
