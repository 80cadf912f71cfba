//===- ONNXDialect.cpp - The onnx dialect, its types and attributes -------===//

#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace moec::onnx;

#include "dialects/onnx/ONNXDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/onnx/ONNXTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/onnx/ONNXAttrs.cpp.inc"

void ONNXDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/onnx/ONNXTypes.cpp.inc"
      >();
}

void ONNXDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/onnx/ONNXAttrs.cpp.inc"
      >();
}

void ONNXDialect::initialize() {
  registerTypes();
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "dialects/onnx/ONNXOps.cpp.inc"
      >();
}
