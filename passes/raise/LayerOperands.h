//===- LayerOperands.h - moe.layer's operands from matched weights -*- C++ -*-===//
//
// The raising passes find a layer's weights in the model's layouts ([out, in] or [in, out]
// matrices, per expert or stacked, gate and up apart, interleaved or in halves) and build
// moe.layer's operands from them: `[E, H]` router, `[E, H, N]` up (gate columns first),
// `[E, I, H]` down, `[E, N]` biases. A constant already in moe.layer's layout is used as it
// is; any other is gathered into a new one (WeightStack.h).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_LAYEROPERANDS_H
#define MOEC_PASSES_RAISE_LAYEROPERANDS_H

#include "ExpertMatcher.h"
#include "RaiseDriver.h"
#include "RouterMatcher.h"

#include "mlir/IR/Builders.h"

namespace moec::raise {

/// The name of the constant `value`, for the constants derived from it.
llvm::StringRef getConstantName(mlir::Value value);

/// `value` (a constant) with its elements viewed as `type`, of the same size; no copy.
mlir::Value retypeConstant(mlir::OpBuilder &builder, mlir::Value value,
                           mlir::RankedTensorType type);

/// A router or score bias of E elements (`[E]` or `[1, E]`) as moe.layer takes it, `[E]`;
/// null for null.
mlir::Value asExpertVector(mlir::OpBuilder &builder, mlir::Value bias);

/// The router weight as moe.layer takes it, `[E, H]`.
mlir::FailureOr<mlir::Value> buildRouterWeight(mlir::OpBuilder &builder, const Linear &router);

/// Columns `first, first + step, ...` (`count` of them) of each expert's `[in, out]` matrix.
struct ColumnRun {
  int64_t first = 0, step = 1, count = 0;
};

/// The runs of the up projection's columns in moe.layer's order, gate first, for a body
/// whose gate and up columns are in one projection (or that has no gate).
llvm::SmallVector<ColumnRun, 2> getUpColumnRuns(const ExpertBody &body);

/// A stacked Linear's weight as moe.layer takes it, `[E, in, N]`, each expert's columns
/// being `runs` of its `[in, out]` matrix (N their total).
mlir::FailureOr<mlir::Value> buildStackedWeight(mlir::OpBuilder &builder, const Linear &linear,
                                                llvm::ArrayRef<ColumnRun> runs);

/// A stacked Linear's bias (`[E, out]` or `[E, 1, out]`) as moe.layer takes it, `[E, N]`,
/// each expert's columns being `runs`; null when it has none.
mlir::FailureOr<mlir::Value> buildStackedBias(mlir::OpBuilder &builder, const Linear &linear,
                                              llvm::ArrayRef<ColumnRun> runs);

/// `result`, moe.layer's `[T, H]` (the tokens' type), as the replaced node declares its
/// result (`declared`, maybe less static: a graph output declared `[?, ?]`): through a
/// tensor.cast when they differ. Null when they are not cast-compatible.
mlir::Value castLayerResult(mlir::OpBuilder &builder, mlir::Value result, mlir::Type declared);

/// Builds the few onnx nodes and i64 constants a raised layer needs around it (the reshapes
/// between the graph's views and moe.layer's `[T, H]`), beside the node it replaces and
/// named after it, `<node>/moe.<what>`.
class GlueBuilder {
public:
  GlueBuilder(mlir::PatternRewriter &rewriter, onnx::NodeOp anchor)
      : rewriter(rewriter), anchor(anchor) {}

  /// A default-domain node `opType` of one result of `type`.
  mlir::Value node(llvm::StringRef opType, llvm::StringRef what, mlir::Type type,
                   mlir::ValueRange inputs, llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  /// A 1-D i64 constant, or a 0-D one (`scalar`) of one value.
  mlir::Value i64s(llvm::StringRef what, llvm::ArrayRef<int64_t> values, bool scalar = false);
  /// The attribute `axis = value`.
  mlir::NamedAttribute axis(int64_t value);

private:
  std::string name(llvm::StringRef what);

  mlir::PatternRewriter &rewriter;
  onnx::NodeOp anchor;
};

/// moe.layer's shared-expert operands: up `[H, N]` (gate columns first), down `[I, H]` and
/// the optional sigmoid gate `[H, 1]` (null without one).
struct SharedExpertWeights {
  mlir::Value up, down, gate;
};

/// Builds the shared expert's operands, their constants named `prefix` + "shared_up", ...
mlir::FailureOr<SharedExpertWeights> buildSharedExpertWeights(mlir::OpBuilder &builder,
                                                              mlir::Location loc,
                                                              llvm::StringRef prefix,
                                                              const SharedExpert &shared);

/// A layer as the passes over stacked experts find it: its routing, its experts and the
/// shared expert added to their sum.
struct StackedLayer {
  Routing routing;
  ExpertBody body;
  std::optional<SharedExpert> shared;
  /// The routing weights scale the experts' inputs, not their outputs (Llama 4).
  bool weighInputs = false;
};

/// `routing` and `body` as the layer whose routed sum is `routedSum`, with the shared expert
/// added to that sum if there is one; or failure (with the reason) when the router chooses
/// among other experts than the body's stacked weights hold, or weights and tokens have
/// different element types.
mlir::FailureOr<StackedLayer> makeStackedLayer(mlir::Value routedSum, Routing routing,
                                               ExpertBody body, Reason &reason);

/// Replaces `node`, the output of `layer` for the tokens `layer.routing.router.input`, with
/// one moe.layer. A result type other than the tokens' is a remark on `node` and a failure;
/// weights that cannot be rearranged (written to a temporary file) are an error that sets
/// `sawError`, which fails the pass.
mlir::LogicalResult replaceWithStackedLayer(mlir::PatternRewriter &rewriter, onnx::NodeOp node,
                                            const StackedLayer &layer, RaiseRemarks &remarks,
                                            bool &sawError);

/// The pattern of a raising pass whose layers are StackedLayers anchored on one node:
/// `matchLayer(node, reason)` fails with an empty reason for a node that is no candidate,
/// and with the reason (the node's remark) for a candidate it cannot raise.
template <mlir::FailureOr<StackedLayer> (*matchLayer)(onnx::NodeOp, Reason &)>
struct RaiseStackedLayer : RaisePattern {
  using RaisePattern::RaisePattern;

  mlir::LogicalResult matchAndRewrite(onnx::NodeOp node,
                                      mlir::PatternRewriter &rewriter) const override {
    Reason reason;
    mlir::FailureOr<StackedLayer> layer = matchLayer(node, reason);
    if (mlir::failed(layer)) {
      if (!reason.empty())
        remarks.notRaised(node, describe(node) + " not raised to moe.layer: " + reason);
      return mlir::failure();
    }
    return replaceWithStackedLayer(rewriter, node, *layer, remarks, sawError);
  }
};

} // namespace moec::raise

#endif // MOEC_PASSES_RAISE_LAYEROPERANDS_H
