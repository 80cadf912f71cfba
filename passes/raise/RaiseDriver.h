//===- RaiseDriver.h - How the raising passes apply their patterns --------===//
//
// Every raising pass is a set of rewrite patterns, each rooted at the node it matches (the
// TopK of a loop over experts, a dense-masked combine, a com.microsoft.MoE node), applied
// with the greedy driver by applyRaisePatterns. A pattern that matches a candidate it cannot
// raise says why in a remark, once per node (RemarkedNodes).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_RAISEDRIVER_H
#define MOEC_PASSES_RAISE_RAISEDRIVER_H

#include "mlir/IR/PatternMatch.h"

#include "llvm/ADT/DenseSet.h"

namespace moec::raise {

/// The nodes that got their "not raised" remark: the greedy driver may try a pattern on a
/// node again after other rewrites, and each node says why only once.
class RemarkedNodes {
public:
  /// Whether `op` is still to be remarked on; it then counts as remarked.
  bool first(mlir::Operation *op) { return remarked.insert(op).second; }

private:
  llvm::DenseSet<mlir::Operation *> remarked;
};

/// Applies a raising pass's patterns to `root` with the greedy driver: top-down, so that
/// candidates are tried (and remarked on) in program order, and without region
/// simplification; what a raised layer leaves dead is erased.
mlir::LogicalResult applyRaisePatterns(mlir::Operation *root,
                                       mlir::RewritePatternSet &&patterns);

/// Applies the one pattern of a raising pass, made of the context, the pass's RemarkedNodes
/// and a flag that it sets on an error, to `root`: failure when the driver or the pattern
/// failed.
template <typename PatternT>
mlir::LogicalResult applyRaisePattern(mlir::Operation *root) {
  RemarkedNodes remarked;
  bool sawError = false;
  mlir::RewritePatternSet patterns(root->getContext());
  patterns.add<PatternT>(root->getContext(), remarked, sawError);
  return mlir::success(succeeded(applyRaisePatterns(root, std::move(patterns))) && !sawError);
}

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_RAISEDRIVER_H
