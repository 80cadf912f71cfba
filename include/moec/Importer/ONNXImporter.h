//===- ONNXImporter.h - ONNX models into the onnx dialect -----------------===//
//
// Reads an ONNX model (protobuf, with optional external data) into a module at moec's onnx
// level: a `func.func @main` of `onnx.node` / `onnx.constant` ops. Deliberately free of
// heavy MLIR and protobuf headers.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_IMPORTER_ONNXIMPORTER_H
#define MOEC_IMPORTER_ONNXIMPORTER_H

#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

namespace mlir {
class DialectRegistry;
class MLIRContext;
class ModuleOp;
} // namespace mlir

namespace moec {

struct ImportOptions {
  /// Fill in the types of values the model leaves out with ONNX's own shape inference.
  bool inferShapes = true;
};

/// Adds the dialects that imported modules use to `registry`.
void registerImportedDialects(mlir::DialectRegistry &registry);

/// Imports the model in the file at `path`. External data is looked up relative to the
/// file's folder and memory-mapped. On bad input, emits one error diagnostic (located at the
/// file and, where there is one, the ONNX node) and returns null.
mlir::OwningOpRef<mlir::ModuleOp> importONNXFile(llvm::StringRef path, mlir::MLIRContext &context,
                                                 const ImportOptions &options = {});

/// Imports a serialized model from memory. `displayName` names it in diagnostics, and
/// external data is looked up relative to `externalDataDir`.
mlir::OwningOpRef<mlir::ModuleOp> importONNXBuffer(llvm::StringRef bytes,
                                                   llvm::StringRef displayName,
                                                   llvm::StringRef externalDataDir,
                                                   mlir::MLIRContext &context,
                                                   const ImportOptions &options = {});

} // namespace moec

#endif // MOEC_IMPORTER_ONNXIMPORTER_H
