//===- DataTypes.h - ONNX's element type codes ----------------------------===//
//
// ONNX names element types by TensorProto.DataType codes: in tensors and value infos, and
// in attributes such as Cast's `to`. The importer and every pass that reads such an
// attribute map them to MLIR types here, in one table. The codes are ONNX's (onnx.proto);
// those added after ONNX 1.12, whose headers lack their names, included.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_DIALECT_ONNX_DATATYPES_H
#define MOEC_DIALECT_ONNX_DATATYPES_H

#include "mlir/IR/Types.h"

#include <cstdint>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace moec::onnx {

/// An MLIR element type with the width of one element in ONNX's data layout.
struct DataType {
  mlir::Type type;
  /// Bits one element takes in raw data: BOOL takes a byte, 4-bit types pack two per byte,
  /// 2-bit types four.
  unsigned bits = 0;

  /// Bytes that `count` elements take in raw_data.
  uint64_t storageBytes(uint64_t count) const {
    if (bits < 8)
      return (count * bits + 7) / 8;
    return count * (bits / 8);
  }
};

/// The MLIR element type of TensorProto.DataType `code`, or a null type for codes moec does
/// not know (0, UNDEFINED, among them).
DataType getDataType(mlir::MLIRContext *context, int64_t code);

} // namespace moec::onnx

#endif // MOEC_DIALECT_ONNX_DATATYPES_H
