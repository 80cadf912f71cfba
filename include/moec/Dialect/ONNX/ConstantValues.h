//===- ConstantValues.h - Reading the values of onnx-level constants ------===//
//
// Constants hold their values in dense resources (weights, not copied) or dense elements
// (small values). Passes that read them, type inference and raising among them, go through
// these functions, which never copy a large constant.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_DIALECT_ONNX_CONSTANTVALUES_H
#define MOEC_DIALECT_ONNX_CONSTANTVALUES_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace moec::onnx {

/// The bytes of a static tensor of byte-sized numbers, where the attribute holds them.
struct ElementsBytes {
  mlir::RankedTensorType type;
  llvm::ArrayRef<char> bytes;
  /// One element stands for all.
  bool splat = false;

  size_t getElementBytes() const { return type.getElementTypeBitWidth() / 8; }
};

/// The bytes of `elements`, not copied, when it is a static tensor of byte-sized numbers.
std::optional<ElementsBytes> getElementsBytes(mlir::ElementsAttr elements);

/// The values of an integer tensor of at most `maxElements` elements, splats expanded, or
/// nothing: dense elements of any width, resources of 32 or 64 bits (unsigned ones within
/// int64's range).
std::optional<llvm::SmallVector<int64_t>> getIntValues(mlir::ElementsAttr elements,
                                                       int64_t maxElements);

} // namespace moec::onnx

#endif // MOEC_DIALECT_ONNX_CONSTANTVALUES_H
