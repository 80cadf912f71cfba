//===- ORTMoE.h - What onnxruntime's MoE and QMoE contrib ops share -*- C++ -*-===//
//
// com.microsoft.MoE and com.microsoft.QMoE are each one whole MoE layer with the same
// routing and expert-body attributes; they differ in how the expert weights are stored
// (floats, or packed integers with scales). The raises of both read the attributes, lay
// out the weights' columns and build the `moe.layer` with what is here.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_RAISE_ORTMOE_H
#define MOEC_PASSES_RAISE_ORTMOE_H

#include "ONNXMatch.h"
#include "WeightStack.h"

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/PatternMatch.h"

#include <string>

namespace moec::raise::ort {

/// One stacked projection of an ORT MoE node, from `in` to `out` features per expert.
/// Current exports store it `[E, out, in]`; older ones `[E, in, out]`, which ORT calls the
/// legacy layout. A bias `[E, out]` is a projection with `in == 1` in the legacy layout.
/// Without bytes (an absent bias) it reads as zeros.
struct Projection {
  /// The constant the bytes belong to; null for an absent bias or bytes made here.
  mlir::Value constant;
  ConstantBytes bytes;
  int64_t in = 1;
  int64_t out = 0;
  bool legacyLayout = true;

  /// Columns `first, first + step, ...` (`count` of them) of expert `expert`'s weights
  /// `[in, out]`, read in place.
  SourceColumns getColumns(int64_t expert, int64_t first, int64_t step, int64_t count) const;
};

/// Columns `first, first + step, ...` (`count` of them) of projection `source`: where some
/// columns of a moe.layer operand come from.
struct ColumnRun {
  unsigned source;
  int64_t first = 0;
  int64_t step = 1;
  int64_t count = 0;
};

/// How many columns `columns` are together.
int64_t getWidth(llvm::ArrayRef<ColumnRun> columns);

/// The biases of an ORT MoE or QMoE node, `[E, out]` each (projections with `in == 1`); a
/// gated layer with only one of fc1's and fc3's biases gets zeros for the other.
struct Biases {
  /// fc1's (and fc3's), and fc2's.
  llvm::SmallVector<Projection> up;
  Projection down;
  bool hasUp = false, hasDown = false;

  /// moe.layer's `up_bias` (the columns `upColumns` of `up`) and `down_bias` (`hidden`
  /// columns), null where the node has none, named after `name`: failure when a constant
  /// cannot be written.
  mlir::LogicalResult create(mlir::PatternRewriter &rewriter, mlir::Location loc,
                             llvm::StringRef name, mlir::Type elementType, int64_t experts,
                             int64_t hidden, llvm::ArrayRef<ColumnRun> upColumns,
                             mlir::Value &upBias, mlir::Value &downBias) const;
};

/// The expert MLP of an ORT MoE or QMoE node.
struct ExpertBody {
  moe::ExpertAttr expert;
  /// SwiGLU's gate and up in fc1 (`swiglu_fusion` 1 or 2), not in fc1 and fc3.
  bool fusedFc1 = false;
  /// `swiglu_fusion = 1`: gate and up columns interleaved, gate first.
  bool interleaved = false;
  bool gated = false;
};

/// The expert body that `node`'s `activation_type`, `swiglu_fusion`, `activation_alpha`,
/// `activation_beta` and `swiglu_limit` describe, given whether fc3's weights and bias are
/// inputs; failure with the reason in `why`.
mlir::FailureOr<ExpertBody> readExpertBody(onnx::NodeOp node, bool hasFc3, bool hasFc3Bias,
                                           std::string &why);

/// Where the gated layout of moe's up projection (`inter` gate columns, then `inter` up
/// columns; only the former when not gated) finds its columns: in source 0 (fc1), and for
/// SwiGLU in fc1 and fc3 in source 1 (fc3).
llvm::SmallVector<ColumnRun> getUpColumns(const ExpertBody &body, bool hasFc3, int64_t inter);

/// The routing of `node` (`k`, `normalize_routing_weights`, `use_sparse_mixer`) over
/// `experts` experts; failure with the reason in `why`.
mlir::FailureOr<moe::RoutingAttr> readRouting(onnx::NodeOp node, int64_t experts, std::string &why);

/// `shape` as `[a, b, c]`, for messages.
std::string describeShape(llvm::ArrayRef<int64_t> shape);

/// moe.layer's operand of `type` made of `columns` of `sources` for `rows` rows: the
/// model's constant itself when it is in moe's layout already (no copy of what may be
/// gigabytes of mapped weights), else a new constant named `name`.
mlir::FailureOr<mlir::Value> createWeight(mlir::PatternRewriter &rewriter, mlir::Location loc,
                                          const llvm::Twine &name, mlir::RankedTensorType type,
                                          llvm::ArrayRef<Projection> sources,
                                          llvm::ArrayRef<ColumnRun> columns, int64_t rows);

/// Why `node`'s result cannot be the result of a layer over its input `tokens` (a 2-D or
/// 3-D tensor), or an empty string.
std::string checkLayerResult(onnx::NodeOp node, mlir::Value tokens);

/// Replaces `node` by a `moe.layer` over its input `tokens` (`[T, H]`, or `[B, S, H]`
/// collapsed to rows and expanded back) with router logits `routerLogits` and the given
/// expert operands (biases may be null).
void replaceWithLayer(mlir::PatternRewriter &rewriter, onnx::NodeOp node, mlir::Value tokens,
                      mlir::Value routerLogits, mlir::Value up, mlir::Value down,
                      mlir::Value upBias, mlir::Value downBias, moe::RoutingAttr routing,
                      moe::ExpertAttr expert);

} // namespace moec::raise::ort

#endif // MOEC_PASSES_RAISE_ORTMOE_H
