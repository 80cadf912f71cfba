//===- RuntimeDeclarations.h - Declaring the runtime functions compiled code calls ===//
//
// Passes that turn ops into calls into moec's runtime (lib/runtime) emit the calls first and
// declare the callees afterwards, each with the type of its calls.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_RUNTIMEDECLARATIONS_H
#define MOEC_CODEGEN_RUNTIMEDECLARATIONS_H

#include "mlir/Support/LLVM.h"

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace moec {

/// Adds a private declaration to `module` for every function that a `func.call` in it calls,
/// that `isRuntimeFunction` accepts and that the module does not define or declare yet.
void declareCalledRuntimeFunctions(mlir::ModuleOp module,
                                   llvm::function_ref<bool(llvm::StringRef)> isRuntimeFunction);

} // namespace moec

#endif // MOEC_CODEGEN_RUNTIMEDECLARATIONS_H
