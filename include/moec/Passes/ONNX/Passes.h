//===- Passes.h - The onnx level's clean-up before raising ----------------===//

#ifndef MOEC_PASSES_ONNX_PASSES_H
#define MOEC_PASSES_ONNX_PASSES_H

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

#include <string>
#include <vector>

namespace moec {

#define GEN_PASS_DECL
#include "passes/onnx/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/onnx/Passes.h.inc"

/// The default-domain op types that moec-expand-function-ops rewrites, which legalization
/// then takes as the older ops of their functions.
std::vector<std::string> getExpandedFunctionOpTypes();

} // namespace moec

#endif // MOEC_PASSES_ONNX_PASSES_H
