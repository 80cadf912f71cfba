//===- PrintIR.h - Print IR that holds large weights ----------------------===//
//
// Printing a module whose dense resources are gigabytes of memory-mapped weights must not
// read them: upstream's resource elision formats each blob before deciding to elide it.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_SUPPORT_PRINTIR_H
#define MOEC_SUPPORT_PRINTIR_H

#include <cstdint>

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir {
class Operation;
} // namespace mlir

namespace moec {

struct PrintIROptions {
  /// Leave resources larger than this many bytes out of the output (0: print all).
  uint64_t elideResourcesOver = 4096;
  /// Print locations (for imported ops, the ONNX node names).
  bool printLocations = false;
};

/// Prints `op` with its dense resources; resources over the limit are left out without
/// their data being read.
void printIR(mlir::Operation *op, llvm::raw_ostream &os, const PrintIROptions &options);

} // namespace moec

#endif // MOEC_SUPPORT_PRINTIR_H
