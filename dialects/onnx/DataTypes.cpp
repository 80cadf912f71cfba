//===- DataTypes.cpp - ONNX's element type codes --------------------------===//

#include "moec/Dialect/ONNX/DataTypes.h"

#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

moec::onnx::DataType moec::onnx::getDataType(MLIRContext *context, int64_t code) {
  Builder b(context);
  // TensorProto.DataType in onnx.proto.
  switch (code) {
  case 1: // FLOAT
    return {b.getF32Type(), 32};
  case 2: // UINT8
    return {b.getIntegerType(8, /*isSigned=*/false), 8};
  case 3: // INT8
    return {b.getIntegerType(8), 8};
  case 4: // UINT16
    return {b.getIntegerType(16, /*isSigned=*/false), 16};
  case 5: // INT16
    return {b.getIntegerType(16), 16};
  case 6: // INT32
    return {b.getIntegerType(32), 32};
  case 7: // INT64
    return {b.getIntegerType(64), 64};
  case 8: // STRING
    return {StringType::get(context), 0};
  case 9: // BOOL, one byte per element in ONNX
    return {b.getI1Type(), 8};
  case 10: // FLOAT16
    return {b.getF16Type(), 16};
  case 11: // DOUBLE
    return {b.getF64Type(), 64};
  case 12: // UINT32
    return {b.getIntegerType(32, /*isSigned=*/false), 32};
  case 13: // UINT64
    return {b.getIntegerType(64, /*isSigned=*/false), 64};
  case 14: // COMPLEX64
    return {ComplexType::get(b.getF32Type()), 64};
  case 15: // COMPLEX128
    return {ComplexType::get(b.getF64Type()), 128};
  case 16: // BFLOAT16
    return {b.getBF16Type(), 16};
  case 17: // FLOAT8E4M3FN
    return {b.getType<Float8E4M3FNType>(), 8};
  case 18: // FLOAT8E4M3FNUZ
    return {b.getType<Float8E4M3FNUZType>(), 8};
  case 19: // FLOAT8E5M2
    return {b.getType<Float8E5M2Type>(), 8};
  case 20: // FLOAT8E5M2FNUZ
    return {b.getType<Float8E5M2FNUZType>(), 8};
  case 21: // UINT4
    return {b.getIntegerType(4, /*isSigned=*/false), 4};
  case 22: // INT4
    return {b.getIntegerType(4), 4};
  case 23: // FLOAT4E2M1
    return {b.getType<Float4E2M1FNType>(), 4};
  case 24: // FLOAT8E8M0
    return {b.getType<Float8E8M0FNUType>(), 8};
  case 25: // UINT2
    return {b.getIntegerType(2, /*isSigned=*/false), 2};
  case 26: // INT2
    return {b.getIntegerType(2), 2};
  // FLOAT6E2M3 (27) and FLOAT6E3M2 (28) are unknown: onnx.proto does not fix their packing
  // in raw_data.
  default:
    return {};
  }
}
