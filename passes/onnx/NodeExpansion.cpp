//===- NodeExpansion.cpp - Rewriting one ONNX node into others ------------===//

#include "NodeExpansion.h"

#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace moec;
using namespace moec::expansion;

int64_t moec::expansion::getDefaultOpset(onnx::NodeOp node) {
  return onnx::getOpsetImport(node, "").value_or(onnx::kNewestOpset);
}

LogicalResult moec::expansion::fail(onnx::NodeOp node, const Twine &message) {
  StringRef name = node.getName();
  return node.emitError() << "node '" << (name.empty() ? StringRef("<unnamed>") : name) << "' ("
                          << node.getOpType() << "): " << message;
}

RankedTensorType moec::expansion::getRanked(Value value) {
  return value ? dyn_cast<RankedTensorType>(value.getType()) : RankedTensorType();
}

LogicalResult moec::expansion::checkRank(onnx::NodeOp node, unsigned index, int64_t minRank,
                                         std::optional<int64_t> maxRank) {
  RankedTensorType type = getRanked(node.getOptionalInput(index));
  if (type && type.getRank() >= minRank && type.getRank() <= maxRank.value_or(type.getRank()))
    return success();
  std::string range = !maxRank              ? ("at least " + Twine(minRank)).str()
                      : minRank == *maxRank ? std::to_string(minRank)
                                            : (Twine(minRank) + " to " + Twine(*maxRank)).str();
  return fail(node, "input " + Twine(index) + " must be a tensor of rank " + range);
}

LogicalResult moec::expansion::checkUnused(onnx::NodeOp node, unsigned index, StringRef what) {
  if (index >= node.getNumResults() || node.getResult(index).use_empty())
    return success();
  return fail(node, "moec does not compute output " + Twine(index) + " (" + what + ")");
}

LogicalResult moec::expansion::checkIntAttr(onnx::NodeOp node, StringRef name, int64_t expected) {
  if (node.getIntAttr(name, expected) == expected)
    return success();
  return fail(node, "attribute '" + name + "' other than " + Twine(expected) + " is not supported");
}

Value moec::expansion::buildGeluTail(NodeBuilder &builder, Value x, Value t, Type type) {
  Value half = builder.create(
      "Mul", {builder.create("Add", {t, builder.scalar(1.0, type)}), builder.scalar(0.5, type)});
  return builder.create("Mul", {x, half});
}

Value moec::expansion::buildTanhGelu(NodeBuilder &builder, Value x, Type type) {
  Value cube = builder.create("Mul", {builder.create("Mul", {x, x}), x});
  Value inner =
      builder.create("Add", {x, builder.create("Mul", {cube, builder.scalar(0.044715, type)})});
  Value tanh = builder.create(
      "Tanh", builder.create("Mul", {inner, builder.scalar(std::sqrt(2.0 / M_PI), type)}));
  return buildGeluTail(builder, x, tanh, type);
}

Value moec::expansion::buildSwish(NodeBuilder &builder, Value x, double alpha, Type type) {
  Value scaled = builder.create("Mul", {x, builder.scalar(alpha, type)});
  return builder.create("Mul", {x, builder.create("Sigmoid", scaled)});
}

std::pair<Value, Value> moec::expansion::buildRMSNormalization(NodeBuilder &builder, Value input,
                                              RankedTensorType type, Value scale,
                                              int64_t firstAxis, double epsilon,
                                              bool inFloat32) {
  bool widen = inFloat32 && !type.getElementType().isF32();
  Type computeType = widen ? Float32Type::get(input.getContext()) : type.getElementType();
  Value x = widen ? builder.cast(input, kOnnxFloat) : input;
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(firstAxis, type.getRank()));
  Value meanSquare = builder.reduce("ReduceMean", builder.create("Mul", {x, x}), axes);
  Value rms = builder.create(
      "Sqrt", builder.create("Add", {meanSquare, builder.scalar(epsilon, computeType)}));
  Value inverseRMS = builder.create("Reciprocal", rms);
  Value normalized = builder.create("Mul", {x, inverseRMS});
  if (widen)
    normalized = builder.create("CastLike", {normalized, input});
  return {builder.create("Mul", {normalized, scale}), inverseRMS};
}

Value moec::expansion::buildRotation(NodeBuilder &builder, Value input, Value cos, Value sin, int64_t rotaryDim,
                    int64_t headSize, bool interleaved) {
  int64_t half = rotaryDim / 2;
  Value real = interleaved ? builder.slice(input, -1, 0, rotaryDim, 2)
                           : builder.slice(input, -1, 0, half);
  Value imaginary = interleaved ? builder.slice(input, -1, 1, rotaryDim, 2)
                                : builder.slice(input, -1, half, rotaryDim);
  Value rotatedReal = builder.create("Sub", {builder.create("Mul", {real, cos}),
                                             builder.create("Mul", {imaginary, sin})});
  Value rotatedImaginary = builder.create("Add", {builder.create("Mul", {real, sin}),
                                                  builder.create("Mul", {imaginary, cos})});
  SmallVector<Value> parts = {rotatedReal, rotatedImaginary};
  if (interleaved) {
    Value pairs = builder.create("Concat",
                                 {builder.unsqueeze(rotatedReal, {-1}),
                                  builder.unsqueeze(rotatedImaginary, {-1})},
                                 {builder.attr("axis", -1)});
    parts = {builder.reshape(pairs, {0, 0, 0, rotaryDim})};
  }
  if (rotaryDim < headSize)
    parts.push_back(builder.slice(input, -1, rotaryDim, headSize));
  return builder.create("Concat", parts, {builder.attr("axis", -1)});
}

LogicalResult moec::expansion::checkCausalConvActivation(onnx::NodeOp node) {
  StringRef activation = node.getStringAttr("activation", "none");
  if (activation == "none" || activation == "silu" || activation == "swish")
    return success();
  return fail(node, "activation '" + activation + "' is not one of none, silu, swish");
}

bool moec::expansion::hasSiLUActivation(onnx::NodeOp node) {
  return node.getStringAttr("activation", "none") != "none";
}

std::pair<Value, Value> moec::expansion::buildCausalConvolution(NodeBuilder &builder, Value input,
                                                                Value weight, Value bias,
                                                                Value pastState, int64_t kernel,
                                                                int64_t dilation, bool silu) {
  // The weight is the node's own input, whose type is known (a channels-last input is
  // rearranged by new nodes, whose types are not yet).
  Type type = getElementTypeOrSelf(weight);
  int64_t stateLength = (kernel - 1) * dilation;
  Value padded = input;
  if (stateLength > 0) {
    if (!pastState) {
      Value shape = builder.create(
          "Concat",
          {builder.slice(builder.create("Shape", input), 0, 0, 2), builder.ints({stateLength})},
          {builder.attr("axis", 0)});
      pastState = builder.create("Expand", {builder.scalar(0.0, type), shape});
    }
    padded = builder.create("Concat", {pastState, input}, {builder.attr("axis", 2)});
  }
  // Tap j reads the L positions from j · dilation on: the last tap the input itself.
  Value sum = bias ? builder.unsqueeze(bias, {1}) : Value();
  for (int64_t tap = 0; tap < kernel; ++tap) {
    int64_t start = tap * dilation, beforeEnd = stateLength - start;
    Value window = builder.slice(padded, 2, start,
                                 beforeEnd > 0 ? -beforeEnd : std::numeric_limits<int64_t>::max());
    Value tapWeight = builder.reshape(builder.slice(weight, 2, tap, tap + 1), {0, 1});
    Value term = builder.create("Mul", {window, tapWeight});
    sum = sum ? builder.create("Add", {sum, term}) : term;
  }
  Value output = silu ? buildSwish(builder, sum, 1.0, type) : sum;
  // A kernel of one tap keeps no state: [B, C, 0].
  Value presentState =
      stateLength > 0 ? builder.slice(padded, 2, -stateLength, std::numeric_limits<int64_t>::max())
                      : builder.slice(input, 2, 0, 0);
  return {output, presentState};
}

namespace {

const Expansion *findExpansion(ArrayRef<Expansion> expansions, onnx::NodeOp node) {
  for (const Expansion &expansion : expansions)
    if (node.getDomain() == expansion.domain && node.getOpType() == expansion.opType)
      return &expansion;
  return nullptr;
}

/// Replaces a node by its expansion, whose results keep the node's result types.
struct ExpandNode : OpRewritePattern<onnx::NodeOp> {
  ExpandNode(MLIRContext *context, ArrayRef<Expansion> expansions)
      : OpRewritePattern(context), expansions(expansions) {}

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    const Expansion *expansion = findExpansion(expansions, node);
    if (!expansion)
      return failure();
    NodeBuilder builder(rewriter, node);
    Replacements replacements = expansion->expand(node, builder);
    for (auto [result, replacement] : llvm::zip(node.getResults(), replacements)) {
      if (result.use_empty())
        continue;
      replacement.setType(result.getType());
      rewriter.replaceAllUsesWith(result, replacement);
    }
    rewriter.eraseOp(node);
    return success();
  }

private:
  ArrayRef<Expansion> expansions;
};

} // namespace

LogicalResult moec::expansion::expandNodes(Operation *root, ArrayRef<Expansion> expansions) {
  bool unsupported = false;
  root->walk([&](onnx::NodeOp node) {
    if (const Expansion *expansion = findExpansion(expansions, node))
      unsupported |= failed(expansion->check(node));
  });
  if (unsupported)
    return failure();
  RewritePatternSet patterns(root->getContext());
  patterns.add<ExpandNode>(root->getContext(), expansions);
  return applyPatternsGreedily(root, std::move(patterns));
}
