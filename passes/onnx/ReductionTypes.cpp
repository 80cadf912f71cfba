//===- ReductionTypes.cpp - Types of reductions and normalizations --------===//

#include "TypeInference.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

/// The shape that reducing `axes` (all when empty) of `input` leaves.
std::optional<SmallVector<int64_t>> reduceShape(RankedTensorType input, ArrayRef<int64_t> axes,
                                                bool keepDims) {
  int64_t rank = input.getRank();
  SmallVector<bool> reduced(rank, axes.empty());
  for (int64_t axis : axes) {
    std::optional<int64_t> index = normalizeAxis(axis, rank);
    if (!index)
      return std::nullopt;
    reduced[*index] = true;
  }
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced[i])
      dims.push_back(input.getDimSize(i));
    else if (keepDims)
      dims.push_back(1);
  }
  return dims;
}

void inferReduce(NodeInference &node) {
  onnx::NodeOp op = node.getNode();
  Type element = node.getElementType(0);
  RankedTensorType input = node.getRanked(0);
  bool keepDims = op.getIntAttr("keepdims", 1) != 0;
  // Axes became an input in opset 13 for ReduceSum and 18 for the others.
  int64_t axesInputSince = op.getOpType() == "ReduceSum" ? 13 : 18;
  std::optional<SmallVector<int64_t>> axes;
  if (node.getOpset() >= axesInputSince)
    axes = node.getInput(1) ? node.getConstantInts(1) : SmallVector<int64_t>();
  else
    axes = op.getIntsAttr("axes").value_or(SmallVector<int64_t>());
  if (!input) {
    node.setUnrankedResult(0, element);
    return;
  }
  if (!axes) {
    // Unknown axes: with keepdims the rank stays; without, it drops by the number of axes
    // (distinct, as ONNX requires) when their count is known and not zero (none would
    // mean all axes, or none with noop_with_empty_axes).
    if (keepDims) {
      node.setResult(0, element, SmallVector<int64_t>(input.getRank(), ShapedType::kDynamic));
    } else if (RankedTensorType axesType = node.getRanked(1);
               axesType && axesType.getRank() == 1 && !axesType.isDynamicDim(0) &&
               axesType.getDimSize(0) > 0 && axesType.getDimSize(0) <= input.getRank()) {
      node.setResult(
          0, element,
          SmallVector<int64_t>(input.getRank() - axesType.getDimSize(0), ShapedType::kDynamic));
    }
    return;
  }
  if (axes->empty() && op.getIntAttr("noop_with_empty_axes", 0) != 0) {
    node.setResultLikeInput(0, 0);
    return;
  }
  if (std::optional<SmallVector<int64_t>> dims = reduceShape(input, *axes, keepDims))
    node.setResult(0, element, *dims);
}

void inferArgMinMax(NodeInference &node) {
  onnx::NodeOp op = node.getNode();
  Type i64 = Builder(op.getContext()).getI64Type();
  RankedTensorType input = node.getRanked(0);
  if (!input) {
    node.setUnrankedResult(0, i64);
    return;
  }
  if (std::optional<SmallVector<int64_t>> dims =
          reduceShape(input, {op.getIntAttr("axis", 0)}, op.getIntAttr("keepdims", 1) != 0))
    node.setResult(0, i64, *dims);
}

/// LayerNormalization: Y like X; Mean and InvStdDev keep the dims before `axis`, 1 after.
void inferLayerNormalization(NodeInference &node) {
  node.setResultLikeInput(0, 0);
  RankedTensorType input = node.getRanked(0);
  if (!input)
    return;
  std::optional<int64_t> axis = normalizeAxis(node.getNode().getIntAttr("axis", -1),
                                              input.getRank());
  if (!axis)
    return;
  SmallVector<int64_t> dims(input.getShape().take_front(*axis));
  dims.append(input.getRank() - *axis, 1);
  // The statistics are in stash_type, f32 by default.
  Type stash = Builder(node.getNode().getContext()).getF32Type();
  for (unsigned i = 1; i < node.getNumResults(); ++i)
    node.setResult(i, stash, dims);
}

} // namespace

void moec::infer::addReductionTypeRules(TypeRules &rules) {
  for (StringRef op : {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                       "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare"})
    rules[op] = inferReduce;
  rules["ArgMax"] = inferArgMinMax;
  rules["ArgMin"] = inferArgMinMax;
  rules["LayerNormalization"] = inferLayerNormalization;
  // onnxruntime registers its SimplifiedLayerNormalization (RMSNorm) in the default domain.
  rules["SimplifiedLayerNormalization"] = inferLayerNormalization;
  for (StringRef op : {"BatchNormalization", "GroupNormalization", "InstanceNormalization",
                       "LpNormalization", "RMSNormalization", "MeanVarianceNormalization"})
    rules[op] = [](NodeInference &node) { node.setResultLikeInput(0, 0); };
}
