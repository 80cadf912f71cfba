//===- Passes.h - The onnx level to upstream dialects ---------------------===//

#ifndef MOEC_PASSES_LEGALIZE_PASSES_H
#define MOEC_PASSES_LEGALIZE_PASSES_H

#include "mlir/Pass/Pass.h"

#include <string>
#include <vector>

namespace moec {

#define GEN_PASS_DECL
#include "passes/legalize/Passes.h.inc"

/// The ONNX op types (default domain) that moec-legalize-onnx converts, sorted.
std::vector<std::string> getLegalizableONNXOpTypes(mlir::MLIRContext *context);

#define GEN_PASS_REGISTRATION
#include "passes/legalize/Passes.h.inc"

} // namespace moec

#endif // MOEC_PASSES_LEGALIZE_PASSES_H
