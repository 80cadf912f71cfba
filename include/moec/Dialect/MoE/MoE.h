//===- MoE.h - The moe dialect: layer- and kernel-level MoE ops -----------===//
//
// The one header to include for the moe dialect's ops, attributes and enums.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_DIALECT_MOE_MOE_H
#define MOEC_DIALECT_MOE_MOE_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/moe/MoEDialect.h.inc"
#include "dialects/moe/MoEEnums.h.inc"

namespace moec::moe {
/// SparseMixer's jitter epsilon as Phi-3.5-MoE and onnxruntime fix it: `jitter_eps`'s
/// default.
inline constexpr double kDefaultJitterEps = 0.01;
/// Parses a float literal into the f64 APFloat that real-valued attribute parameters hold.
mlir::FailureOr<llvm::APFloat> parseF64Parameter(mlir::AsmParser &parser);
} // namespace moec::moe

#define GET_ATTRDEF_CLASSES
#include "dialects/moe/MoEAttrs.h.inc"

#define GET_OP_CLASSES
#include "dialects/moe/MoEOps.h.inc"

#endif // MOEC_DIALECT_MOE_MOE_H
