//===- Passes.h - moec's raising, legalization and optimization passes ----===//

#ifndef MOEC_PASSES_H
#define MOEC_PASSES_H

#include "mlir/Pass/Pass.h"

#include <string>
#include <vector>

namespace mlir {
namespace arith {
class ArithDialect;
} // namespace arith
namespace bufferization {
class BufferizationDialect;
} // namespace bufferization
namespace cf {
class ControlFlowDialect;
} // namespace cf
namespace linalg {
class LinalgDialect;
} // namespace linalg
namespace math {
class MathDialect;
} // namespace math
namespace scf {
class SCFDialect;
} // namespace scf
namespace tensor {
class TensorDialect;
} // namespace tensor
namespace tosa {
class TosaDialect;
} // namespace tosa
} // namespace mlir

namespace moec::moe {
class MoEDialect;
} // namespace moec::moe

namespace moec {
namespace moe {
class MoEDialect;
} // namespace moe

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// The ONNX op types (default domain) that moec-legalize-onnx converts, sorted.
std::vector<std::string> getLegalizableONNXOpTypes(mlir::MLIRContext *context);

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace moec

#endif // MOEC_PASSES_H
