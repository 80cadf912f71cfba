//===- NodeExpansion.h - Rewriting one ONNX node into others ----*- C++ -*-===//
//
// What the passes that rewrite ops into default-domain ONNX nodes share (onnxruntime's
// contrib ops, quantized ops): a builder of the new nodes, named after and located at the
// node they replace, the checks that reject a form with one diagnostic naming the node, and
// the driver that checks every node and then rewrites them by a table of expansions.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_PASSES_ONNX_NODEEXPANSION_H
#define MOEC_PASSES_ONNX_NODEEXPANSION_H

#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace moec::expansion {

using mlir::ArrayRef;
using mlir::DenseElementsAttr;
using mlir::Location;
using mlir::LogicalResult;
using mlir::NamedAttribute;
using mlir::Operation;
using mlir::PatternRewriter;
using mlir::RankedTensorType;
using mlir::SmallVector;
using mlir::StringRef;
using mlir::Twine;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;

/// ONNX's element type code for float32 (TensorProto.FLOAT), as Cast's `to` takes it.
constexpr int64_t kOnnxFloat = 1;
/// ... and for int64 (TensorProto.INT64).
constexpr int64_t kOnnxInt64 = 7;

/// The default domain's opset at `node` (ONNX's newest moec knows when the model does not
/// say, as type inference reads it).
int64_t getDefaultOpset(onnx::NodeOp node);

/// Builds the default-domain nodes that replace one contrib node: each named after it and
/// located at it, so that diagnostics on them name the node the model has; results of
/// unknown type, which moec-infer-types then infers.
class NodeBuilder {
public:
  NodeBuilder(PatternRewriter &rewriter, onnx::NodeOp node)
      : rewriter(rewriter), node(node), loc(node.getLoc()), opset(getDefaultOpset(node)) {}

  Value create(StringRef opType, ValueRange inputs, ArrayRef<NamedAttribute> attrs = {}) {
    return createMany(opType, inputs, 1, attrs).front();
  }
  SmallVector<Value> createMany(StringRef opType, ValueRange inputs, unsigned numResults,
                                ArrayRef<NamedAttribute> attrs = {}) {
    SmallVector<Type> types(numResults, onnx::AnyType::get(rewriter.getContext()));
    auto created = onnx::NodeOp::create(
        rewriter, loc, types, rewriter.getStringAttr(opType), rewriter.getStringAttr(""),
        rewriter.getStringAttr(node.getName() + "/" + opType), rewriter.getDictionaryAttr(attrs),
        inputs, /*subgraphsCount=*/0);
    return SmallVector<Value>(created.getResults());
  }

  NamedAttribute attr(StringRef name, int64_t value) {
    return rewriter.getNamedAttr(name, rewriter.getI64IntegerAttr(value));
  }
  NamedAttribute attr(StringRef name, ArrayRef<int64_t> values) {
    return rewriter.getNamedAttr(name, rewriter.getDenseI64ArrayAttr(values));
  }
  NamedAttribute attr(StringRef name, StringRef value) {
    return rewriter.getNamedAttr(name, rewriter.getStringAttr(value));
  }
  NamedAttribute attr(StringRef name, mlir::FloatAttr value) {
    return rewriter.getNamedAttr(name, value);
  }

  /// A 1-D int64 constant, or a 0-D one for `scalar`.
  Value ints(ArrayRef<int64_t> values, bool scalar = false) {
    SmallVector<int64_t> shape;
    if (!scalar)
      shape.push_back(values.size());
    auto type = RankedTensorType::get(shape, rewriter.getI64Type());
    return constant(DenseElementsAttr::get(type, values));
  }
  /// A 0-D floating-point constant of `elementType`.
  Value scalar(double value, Type elementType) {
    auto type = RankedTensorType::get({}, elementType);
    return constant(DenseElementsAttr::get(type, rewriter.getFloatAttr(elementType, value)));
  }

  /// `opType` (ReduceMean, ReduceSum, ...) over `axes`, keeping them.
  Value reduce(StringRef opType, Value input, ArrayRef<int64_t> axes) {
    // ReduceSum took its axes as an input from opset 13, the others from 18.
    if (opset < (opType == "ReduceSum" ? 13 : 18))
      return create(opType, input, {attr("axes", axes), attr("keepdims", 1)});
    return create(opType, {input, ints(axes)}, {attr("keepdims", 1)});
  }
  Value unsqueeze(Value input, ArrayRef<int64_t> axes) {
    if (opset < 13)
      return create("Unsqueeze", input, {attr("axes", axes)});
    return create("Unsqueeze", {input, ints(axes)});
  }
  /// `input[..., start:end:step]` along `axis`.
  Value slice(Value input, int64_t axis, int64_t start, int64_t end, int64_t step = 1) {
    return create("Slice", {input, ints({start}), ints({end}), ints({axis}), ints({step})});
  }
  Value reshape(Value input, ArrayRef<int64_t> shape) {
    return create("Reshape", {input, ints(shape)});
  }
  Value transpose(Value input, ArrayRef<int64_t> perm) {
    return create("Transpose", input, {attr("perm", perm)});
  }
  Value cast(Value input, int64_t to) { return create("Cast", input, {attr("to", to)}); }

  /// A constant holding `value` (dense elements, or a resource's bytes).
  Value constant(mlir::ElementsAttr value) {
    return onnx::ConstantOp::create(rewriter, loc, value.getShapedType(),
                                    (node.getName() + "/constant").str(), value);
  }

private:
  PatternRewriter &rewriter;
  onnx::NodeOp node;
  Location loc;
  int64_t opset;
};

/// The results that replace a node's, in order; null for an omitted output.
using Replacements = SmallVector<Value>;

/// One op: the forms its expansion supports, and the expansion.
struct Expansion {
  StringRef domain;
  StringRef opType;
  /// Emits a diagnostic naming the node, and fails, on a form the expansion does not
  /// support.
  LogicalResult (*check)(onnx::NodeOp node);
  Replacements (*expand)(onnx::NodeOp node, NodeBuilder &builder);
};

/// Checks every node under `root` that `expansions` has an entry for (all of them, so that
/// every unsupported form is reported), then, when all pass, replaces each by its expansion,
/// whose results keep the node's result types.
LogicalResult expandNodes(Operation *root, ArrayRef<Expansion> expansions);

/// x · (1 + t) / 2 of `type`, where t approximates erf(x / √2).
Value buildGeluTail(NodeBuilder &builder, Value x, Value t, Type type);

/// The tanh approximation of Gelu of `x`, of `type`:
/// x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))) / 2.
Value buildTanhGelu(NodeBuilder &builder, Value x, Type type);

/// x · sigmoid(alpha · x) of `type` (Swish, QuickGelu).
Value buildSwish(NodeBuilder &builder, Value x, double alpha, Type type);

/// Root-mean-square normalization of `input`, of `type`, over its dims from `firstAxis`
/// on, scaled by `scale`, computed in float32 when `inFloat32` (stash_type 1): the result
/// and the inverse root mean square (float32 with the normalized dims kept as 1).
std::pair<Value, Value> buildRMSNormalization(NodeBuilder &builder, Value input,
                                              RankedTensorType type, Value scale,
                                              int64_t firstAxis, double epsilon,
                                              bool inFloat32);

/// Rotates the first `rotaryDim` entries of 4-D `input`'s last dim by the angles whose cosines
/// and sines are `cos` and `sin` (broadcasting against `input`'s other dims, rotaryDim / 2
/// in the last): in two halves, or in (even, odd) pairs when `interleaved`.
Value buildRotation(NodeBuilder &builder, Value input, Value cos, Value sin, int64_t rotaryDim,
                    int64_t headSize, bool interleaved);

/// CausalConvWithState on channels-first `input` [B, C, L]: the depthwise convolution, tap
/// j of `weight` [C, 1, kernel] reading position t - (kernel - 1 - j) · dilation, of
/// `pastState` [B, C, S] (zeros when null) followed by the input, S = (kernel - 1) ·
/// dilation, plus `bias` [C] when given, through SiLU when `silu`; and the next state, the
/// last S positions of the state followed by the input.
std::pair<Value, Value> buildCausalConvolution(NodeBuilder &builder, Value input, Value weight,
                                               Value bias, Value pastState, int64_t kernel,
                                               int64_t dilation, bool silu);

/// Fails unless CausalConvWithState's `activation` is none, silu or swish (SiLU's other
/// name).
LogicalResult checkCausalConvActivation(onnx::NodeOp node);
/// Whether CausalConvWithState's output goes through SiLU.
bool hasSiLUActivation(onnx::NodeOp node);

/// Emits "node 'NAME' (OP_TYPE): MESSAGE" on `node` and fails.
LogicalResult fail(onnx::NodeOp node, const Twine &message);

/// `value`'s type when it is a ranked tensor, else null.
RankedTensorType getRanked(Value value);

/// Fails unless input `index` is a ranked tensor of rank in [minRank, maxRank] (or at
/// least minRank).
LogicalResult checkRank(onnx::NodeOp node, unsigned index, int64_t minRank,
                        std::optional<int64_t> maxRank = std::nullopt);

/// Fails when result `index` is used: the training statistics are not computed.
LogicalResult checkUnused(onnx::NodeOp node, unsigned index, StringRef what);

/// Fails when attribute `name` is set and not `expected`.
LogicalResult checkIntAttr(onnx::NodeOp node, StringRef name, int64_t expected);

} // namespace moec::expansion

#endif // MOEC_PASSES_ONNX_NODEEXPANSION_H
