//===- RaiseDriver.h - How the raising passes apply their patterns --------===//
//
// Every raising pass is a set of rewrite patterns, each rooted at the node it matches (the
// TopK of a loop over experts, a dense-masked combine, a com.microsoft.MoE node), applied
// with the greedy driver by applyRaisePatterns. A pattern that matches a candidate it cannot
// raise says why in a remark (RaiseRemarks), once the driver is done.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_RAISEDRIVER_H
#define MOEC_PASSES_RAISE_RAISEDRIVER_H

#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

#include <string>

namespace moec::raise {

/// What a raising pass says about the candidates it did not raise. The greedy driver may try
/// a pattern on a node several times, before and after other rewrites (dead nodes it has not
/// yet erased can hide a match at first): only the last reason of a node still there when the
/// driver is done becomes its remark, and a node that got raised (erased) says nothing.
class RaiseRemarks : public mlir::RewriterBase::Listener {
public:
  /// `op` was not raised, because of `message` (the remark's text).
  void notRaised(mlir::Operation *op, std::string message) { pending[op] = std::move(message); }
  /// Whether `op`'s error is still to be reported; it then counts as reported.
  bool firstError(mlir::Operation *op) { return reportedErrors.insert(op).second; }
  /// Emits the remark of every candidate still not raised.
  void emitRemarks();

  void notifyOperationErased(mlir::Operation *op) override { pending.erase(op); }

private:
  llvm::MapVector<mlir::Operation *, std::string> pending;
  llvm::DenseSet<mlir::Operation *> reportedErrors;
};

/// A raising pattern: rooted at an onnx.node, it says through `remarks` why a candidate is
/// not raised and sets `sawError` when a layer it matched cannot be built (its weights could
/// not be written), which fails the pass.
struct RaisePattern : mlir::OpRewritePattern<onnx::NodeOp> {
  RaisePattern(mlir::MLIRContext *context, RaiseRemarks &remarks, bool &sawError)
      : OpRewritePattern(context), remarks(remarks), sawError(sawError) {}

protected:
  RaiseRemarks &remarks;
  bool &sawError;
};

/// Applies a raising pass's patterns to `root` with the greedy driver: top-down, so that
/// candidates are tried (and remarked on) in program order, and without region
/// simplification; what a raised layer leaves dead is erased. `remarks` hears of every
/// erased node and then emits its remarks.
mlir::LogicalResult applyRaisePatterns(mlir::Operation *root, mlir::RewritePatternSet &&patterns,
                                       RaiseRemarks &remarks);

/// Applies the one pattern of a raising pass, made of the context, the pass's RaiseRemarks
/// and a flag that it sets on an error, to `root`: failure when the driver or the pattern
/// failed.
template <typename PatternT>
mlir::LogicalResult applyRaisePattern(mlir::Operation *root) {
  RaiseRemarks remarks;
  bool sawError = false;
  mlir::RewritePatternSet patterns(root->getContext());
  patterns.add<PatternT>(root->getContext(), remarks, sawError);
  return mlir::success(succeeded(applyRaisePatterns(root, std::move(patterns), remarks)) &&
                       !sawError);
}

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_RAISEDRIVER_H
