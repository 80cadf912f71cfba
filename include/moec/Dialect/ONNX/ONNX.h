//===- ONNX.h - The onnx dialect: ONNX models as imported -----------------===//
//
// The one header to include for the onnx dialect's ops, types and attributes.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_DIALECT_ONNX_ONNX_H
#define MOEC_DIALECT_ONNX_ONNX_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/onnx/ONNXDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/onnx/ONNXTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/onnx/ONNXAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/onnx/ONNXOps.h.inc"

namespace moec::onnx {
/// The newest opset of the default ONNX domain (ONNX 1.23's) whose operator specs moec
/// follows: the legalizations refuse a model that imports a newer one, and a node of a
/// model that imports none is read in this opset's form.
inline constexpr int64_t kNewestOpset = 28;

/// The opset version of `domain` (`""` is `ai.onnx`) that applies at `scope`: from the
/// nearest of `scope` and its ancestors that carries `onnx.opset_imports` (the module, or a
/// model-local function), as the importer writes them. Nothing when that op does not list
/// the domain, or when no op carries opset imports.
std::optional<int64_t> getOpsetImport(mlir::Operation *scope, llvm::StringRef domain);
} // namespace moec::onnx

#endif // MOEC_DIALECT_ONNX_ONNX_H
