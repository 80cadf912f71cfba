//===- InitMoEC.h - Register moec's dialects and passes -------------------===//
//
// Entry points that every tool (moec, moe-opt, the mlir-opt plugin, the C API) calls to
// make moec's dialects and passes known. Deliberately free of MLIR headers so that it is
// cheap to include.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_INITMOEC_H
#define MOEC_INITMOEC_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace moec {

/// Adds every dialect moec defines to `registry`.
void registerMoECDialects(mlir::DialectRegistry &registry);

/// Registers every moec pass and pass pipeline with the global pass registry, so that
/// they can be named on an `-opt` command line or in a textual pipeline.
void registerMoECPasses();

} // namespace moec

#endif // MOEC_INITMOEC_H
