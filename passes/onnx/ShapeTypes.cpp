//===- ShapeTypes.cpp - Types of ops that compute or move shapes ----------===//

#include "TypeInference.h"

#include "moec/Dialect/ONNX/ConstantValues.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

Type getI64(const NodeInference &node) { return Builder(node.getNode().getContext()).getI64Type(); }

/// The axes of a node: an input from `inputSinceOpset` on, an attribute before. Nothing when
/// they are given but not known; an empty list when they are not given.
std::optional<SmallVector<int64_t>> getAxes(const NodeInference &node, unsigned input,
                                            int64_t inputSinceOpset) {
  if (node.getOpset() >= inputSinceOpset) {
    if (!node.getInput(input))
      return SmallVector<int64_t>();
    return node.getConstantInts(input);
  }
  return node.getNode().getIntsAttr("axes").value_or(SmallVector<int64_t>());
}

void inferShape(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  if (!input) {
    node.setUnrankedResult(0, getI64(node));
    return;
  }
  int64_t rank = input.getRank();
  onnx::NodeOp op = node.getNode();
  auto clamp = [&](int64_t index) {
    if (index < 0)
      index += rank;
    return std::clamp<int64_t>(index, 0, rank);
  };
  int64_t start = clamp(op.getIntAttr("start", 0));
  int64_t end = op.hasNodeAttr("end") ? clamp(op.getIntAttr("end", rank)) : rank;
  ArrayRef<int64_t> dims = input.getShape();
  ArrayRef<int64_t> taken = end > start ? dims.slice(start, end - start) : ArrayRef<int64_t>();
  node.setResult(0, getI64(node), {int64_t(taken.size())});
  node.setContents(0, contentsOfDims(taken));
}

void inferSize(NodeInference &node) {
  node.setResult(0, getI64(node), {});
  if (RankedTensorType input = node.getRanked(0))
    node.setContents(0, contentsOfDims({multiplyDims(input.getShape())}));
}

/// Which of `rank` dims `axes` name, or nothing when one is out of range or named twice.
std::optional<SmallVector<bool>> markAxes(ArrayRef<int64_t> axes, int64_t rank) {
  SmallVector<bool> marked(rank, false);
  for (int64_t axis : axes) {
    std::optional<int64_t> index = normalizeAxis(axis, rank);
    if (!index || marked[*index])
      return std::nullopt;
    marked[*index] = true;
  }
  return marked;
}

/// Ops that only reshape (Reshape, Squeeze, Unsqueeze): `dims`, and input 0's contents.
void setReshaped(NodeInference &node, Type element, ArrayRef<int64_t> dims) {
  node.setResult(0, element, dims);
  if (std::optional<IntContents> known = node.getContents(0))
    node.setContents(0, *known);
}

void inferReshape(NodeInference &node) {
  Type element = node.getElementType(0);
  RankedTensorType shapeType = node.getRanked(1);
  if (!shapeType || shapeType.getRank() != 1 || shapeType.isDynamicDim(0)) {
    node.setUnrankedResult(0, element);
    return;
  }
  int64_t rank = shapeType.getDimSize(0);
  std::optional<IntContents> target = node.getContents(1);
  RankedTensorType input = node.getRanked(0);
  bool allowZero = node.getNode().getIntAttr("allowzero", 0) != 0;
  SmallVector<int64_t> dims(rank, kDynamic);
  int64_t inferred = -1;
  if (target && int64_t(target->size()) == rank) {
    for (int64_t i = 0; i < rank; ++i) {
      std::optional<int64_t> dim = (*target)[i];
      if (!dim)
        continue;
      if (*dim == 0 && !allowZero)
        dims[i] = input && i < input.getRank() ? input.getDimSize(i) : kDynamic;
      else if (*dim == -1)
        inferred = i;
      else
        dims[i] = *dim;
    }
  }
  // The -1 dim is what is left of the input's elements.
  if (inferred >= 0 && input && input.hasStaticShape()) {
    int64_t known = 1;
    for (int64_t i = 0; i < rank; ++i)
      if (i != inferred)
        known = ShapedType::isDynamic(dims[i]) ? kDynamic : known * dims[i];
    if (!ShapedType::isDynamic(known) && known > 0)
      dims[inferred] = input.getNumElements() / known;
  }
  setReshaped(node, element, dims);
}

void inferFlatten(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  if (!input)
    return;
  int64_t rank = input.getRank();
  int64_t axis = node.getNode().getIntAttr("axis", 1);
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis > rank)
    return;
  node.setResult(0, input.getElementType(),
                 {multiplyDims(input.getShape().take_front(axis)),
                  multiplyDims(input.getShape().drop_front(axis))});
}

/// Squeeze (`unsqueeze` false) or Unsqueeze of input 0 over the axes of its opset's form.
void inferSqueezeOrUnsqueeze(NodeInference &node, bool unsqueeze) {
  Type element = node.getElementType(0);
  RankedTensorType input = node.getRanked(0);
  std::optional<SmallVector<int64_t>> axes = getAxes(node, 1, 13);
  if (!input || !axes) {
    node.setUnrankedResult(0, element);
    return;
  }
  ArrayRef<int64_t> inputDims = input.getShape();
  SmallVector<int64_t> dims;
  if (unsqueeze) {
    std::optional<SmallVector<bool>> inserted = markAxes(*axes, input.getRank() + axes->size());
    if (!inserted)
      return;
    for (bool isNew : *inserted) {
      dims.push_back(isNew ? 1 : inputDims.front());
      inputDims = isNew ? inputDims : inputDims.drop_front();
    }
    setReshaped(node, element, dims);
    return;
  }
  // No axes: every dim of size 1, which a dynamic dim leaves unknown.
  if (axes->empty() && !input.hasStaticShape()) {
    node.setUnrankedResult(0, element);
    return;
  }
  std::optional<SmallVector<bool>> dropped = markAxes(*axes, input.getRank());
  if (!dropped)
    return;
  for (auto [dim, drop] : llvm::zip(inputDims, *dropped))
    if (!drop && !(axes->empty() && dim == 1))
      dims.push_back(dim);
  setReshaped(node, element, dims);
}

void inferTranspose(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  if (!input) {
    node.setUnrankedResult(0, node.getElementType(0));
    return;
  }
  int64_t rank = input.getRank();
  SmallVector<int64_t> perm = node.getNode().getIntsAttr("perm").value_or(
      llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, rank))));
  if (int64_t(perm.size()) != rank)
    return;
  SmallVector<int64_t> dims;
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= rank)
      return;
    dims.push_back(input.getDimSize(axis));
  }
  node.setResult(0, input.getElementType(), dims);
}

void inferConcat(NodeInference &node) {
  Type element;
  SmallVector<int64_t> dims;
  std::optional<int64_t> axis;
  IntContents contents;
  bool contentsKnown = true;
  for (unsigned i = 0; i < node.getNumInputs(); ++i) {
    element = element ? element : node.getElementType(i);
    RankedTensorType input = node.getRanked(i);
    if (!input) {
      node.setUnrankedResult(0, element);
      return;
    }
    if (!axis) {
      axis = normalizeAxis(node.getNode().getIntAttr("axis", 0), input.getRank());
      if (!axis)
        return;
      dims = llvm::to_vector(input.getShape());
    } else {
      if (input.getRank() != int64_t(dims.size()))
        return;
      for (int64_t d = 0; d < input.getRank(); ++d) {
        int64_t dim = input.getDimSize(d);
        if (d == *axis)
          dims[d] = ShapedType::isDynamic(dims[d]) || ShapedType::isDynamic(dim) ? kDynamic
                                                                                  : dims[d] + dim;
        else if (ShapedType::isDynamic(dims[d]))
          dims[d] = dim;
      }
    }
    std::optional<IntContents> known = node.getContents(i);
    if (known)
      contents.append(known->begin(), known->end());
    contentsKnown &= known.has_value();
  }
  if (!axis)
    return;
  node.setResult(0, element, dims);
  if (contentsKnown && dims.size() == 1)
    node.setContents(0, contents);
}

void inferSplit(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  unsigned outputs = node.getNumResults();
  if (!input) {
    for (unsigned i = 0; i < outputs; ++i)
      node.setUnrankedResult(i, node.getElementType(0));
    return;
  }
  std::optional<int64_t> axis =
      normalizeAxis(node.getNode().getIntAttr("axis", 0), input.getRank());
  if (!axis)
    return;
  int64_t total = input.getDimSize(*axis);
  std::optional<SmallVector<int64_t>> sizes;
  if (node.getOpset() >= 13)
    sizes = node.getInput(1) ? node.getConstantInts(1) : SmallVector<int64_t>();
  else
    sizes = node.getNode().getIntsAttr("split").value_or(SmallVector<int64_t>());
  if (sizes && sizes->empty() && !ShapedType::isDynamic(total)) {
    // Equal parts; from opset 18 (num_outputs) the last one may be smaller.
    int64_t part = (total + outputs - 1) / outputs;
    for (unsigned i = 0; i < outputs; ++i)
      sizes->push_back(std::max<int64_t>(0, std::min(part, total - part * i)));
  }
  for (unsigned i = 0; i < outputs; ++i) {
    SmallVector<int64_t> dims(input.getShape());
    dims[*axis] = sizes && sizes->size() == outputs ? (*sizes)[i] : kDynamic;
    node.setResult(i, input.getElementType(), dims);
  }
}

void inferSlice(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  if (!input) {
    node.setUnrankedResult(0, node.getElementType(0));
    return;
  }
  int64_t rank = input.getRank();
  onnx::NodeOp op = node.getNode();
  std::optional<SmallVector<int64_t>> starts, ends, axes, steps;
  if (node.getOpset() >= 10) {
    starts = node.getConstantInts(1);
    ends = node.getConstantInts(2);
    axes = node.getInput(3) ? node.getConstantInts(3) : std::nullopt;
    steps = node.getInput(4) ? node.getConstantInts(4) : std::nullopt;
    if (node.getInput(3) && !axes) {
      // Unknown axes: the rank stays, the dims do not.
      node.setResult(0, input.getElementType(), SmallVector<int64_t>(rank, kDynamic));
      return;
    }
  } else {
    starts = op.getIntsAttr("starts");
    ends = op.getIntsAttr("ends");
    axes = op.getIntsAttr("axes");
  }
  SmallVector<int64_t> dims(input.getShape());
  RankedTensorType startsType = node.getRanked(1);
  int64_t count = starts ? int64_t(starts->size())
                         : (startsType && startsType.getRank() == 1 ? startsType.getDimSize(0)
                                                                    : kDynamic);
  if (ShapedType::isDynamic(count)) {
    node.setResult(0, input.getElementType(), SmallVector<int64_t>(rank, kDynamic));
    return;
  }
  if (!axes)
    axes = llvm::to_vector(llvm::seq<int64_t>(0, count));
  if (int64_t(axes->size()) != count)
    return;
  for (int64_t i = 0; i < count; ++i) {
    std::optional<int64_t> axis = normalizeAxis((*axes)[i], rank);
    if (!axis)
      return;
    int64_t dim = input.getDimSize(*axis);
    int64_t step = steps && int64_t(steps->size()) == count ? (*steps)[i] : 1;
    if (!starts || !ends || ShapedType::isDynamic(dim) || step == 0) {
      dims[*axis] = kDynamic;
      continue;
    }
    // ONNX's clamping of starts and ends, then the count of steps between them.
    int64_t start = (*starts)[i], end = (*ends)[i];
    start = start < 0 ? std::max<int64_t>(start, -dim) + dim : start;
    end = end < 0 ? std::max<int64_t>(end, -dim - 1) + dim : end;
    int64_t length;
    if (step > 0) {
      start = std::min(start, dim);
      end = std::min(end, dim);
      length = (end - start + step - 1) / step;
    } else {
      start = std::min(start, dim - 1);
      end = std::min(end, dim - 1);
      length = (start - end - step - 1) / -step;
    }
    dims[*axis] = std::max<int64_t>(0, length);
  }
  node.setResult(0, input.getElementType(), dims);
  // A slice of a known 1-D shape with unit steps keeps its contents.
  std::optional<IntContents> known = node.getContents(0);
  if (known && rank == 1 && starts && ends && (!steps || llvm::all_of(*steps, [](int64_t s) {
                                                 return s == 1;
                                               })) &&
      !ShapedType::isDynamic(dims[0])) {
    int64_t size = known->size();
    int64_t start = (*starts)[0] < 0 ? (*starts)[0] + size : (*starts)[0];
    start = std::clamp<int64_t>(start, 0, size);
    node.setContents(0, IntContents(known->begin() + start, known->begin() + start + dims[0]));
  }
}

/// The dims that a shape input (ConstantOfShape, Expand) names: from its contents, or only
/// its length.
std::optional<SmallVector<int64_t>> getShapeOperand(const NodeInference &node, unsigned index) {
  if (std::optional<IntContents> known = node.getContents(index)) {
    SmallVector<int64_t> dims;
    for (std::optional<int64_t> dim : *known)
      dims.push_back(dim && *dim >= 0 ? *dim : kDynamic);
    return dims;
  }
  RankedTensorType type = node.getRanked(index);
  if (!type || type.getRank() != 1 || type.isDynamicDim(0))
    return std::nullopt;
  return SmallVector<int64_t>(type.getDimSize(0), kDynamic);
}

void inferExpand(NodeInference &node) {
  Type element = node.getElementType(0);
  RankedTensorType input = node.getRanked(0);
  std::optional<SmallVector<int64_t>> target = getShapeOperand(node, 1);
  if (!input || !target) {
    node.setUnrankedResult(0, element);
    return;
  }
  // A target dim unknown at compile time broadcasts like a dynamic one, except that the
  // input's dim wins when it is not 1.
  std::optional<SmallVector<int64_t>> shape = broadcastShapes(input.getShape(), *target);
  if (shape)
    node.setResult(0, element, *shape);
}

void inferTile(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  if (!input) {
    node.setUnrankedResult(0, node.getElementType(0));
    return;
  }
  std::optional<SmallVector<int64_t>> repeats = node.getConstantInts(1);
  SmallVector<int64_t> dims(input.getShape());
  for (int64_t i = 0; i < input.getRank(); ++i)
    dims[i] = repeats && int64_t(repeats->size()) == input.getRank() &&
                      !ShapedType::isDynamic(dims[i])
                  ? dims[i] * (*repeats)[i]
                  : kDynamic;
  node.setResult(0, input.getElementType(), dims);
}

void inferConstantOfShape(NodeInference &node) {
  onnx::NodeOp op = node.getNode();
  ElementsAttr fill = op.getTensorAttr("value");
  Type element = fill ? getElementTypeOrSelf(fill.getType()) : Builder(op.getContext()).getF32Type();
  std::optional<SmallVector<int64_t>> dims = getShapeOperand(node, 0);
  if (!dims) {
    node.setUnrankedResult(0, element);
    return;
  }
  node.setResult(0, element, *dims);
  // Small integer fills (the ones torch writes into shape computations) keep contents.
  if (dims->size() == 1 && !ShapedType::isDynamic((*dims)[0]) &&
      (*dims)[0] <= kMaxTrackedElements)
    if (std::optional<SmallVector<int64_t>> value = onnx::getIntValues(fill, 1))
      node.setContents(0, IntContents((*dims)[0], (*value)[0]));
}

void inferRange(NodeInference &node) {
  Type element = node.getElementType(0);
  std::optional<SmallVector<int64_t>> start = node.getConstantInts(0),
                                      limit = node.getConstantInts(1),
                                      delta = node.getConstantInts(2);
  int64_t length = kDynamic;
  if (start && limit && delta && start->size() == 1 && limit->size() == 1 &&
      delta->size() == 1 && (*delta)[0] != 0) {
    int64_t span = (*limit)[0] - (*start)[0], step = (*delta)[0];
    length = std::max<int64_t>(0, (span + step + (step > 0 ? -1 : 1)) / step);
  }
  node.setResult(0, element, {length});
  if (!ShapedType::isDynamic(length) && length <= kMaxTrackedElements) {
    IntContents known;
    for (int64_t i = 0; i < length; ++i)
      known.push_back((*start)[0] + i * (*delta)[0]);
    node.setContents(0, known);
  }
}

void inferPad(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  if (!input) {
    node.setUnrankedResult(0, node.getElementType(0));
    return;
  }
  int64_t rank = input.getRank();
  std::optional<SmallVector<int64_t>> pads =
      node.getOpset() >= 11 ? node.getConstantInts(1) : node.getNode().getIntsAttr("pads");
  std::optional<SmallVector<int64_t>> axes =
      node.getOpset() >= 18 && node.getInput(3) ? node.getConstantInts(3)
                                                 : llvm::to_vector(llvm::seq<int64_t>(0, rank));
  SmallVector<int64_t> dims(input.getShape());
  if (!pads || !axes || pads->size() != 2 * axes->size()) {
    node.setResult(0, input.getElementType(), SmallVector<int64_t>(rank, kDynamic));
    return;
  }
  int64_t count = axes->size();
  for (int64_t i = 0; i < count; ++i) {
    std::optional<int64_t> axis = normalizeAxis((*axes)[i], rank);
    if (!axis)
      return;
    if (!ShapedType::isDynamic(dims[*axis]))
      dims[*axis] += (*pads)[i] + (*pads)[i + count];
  }
  node.setResult(0, input.getElementType(), dims);
}

/// DepthToSpace and SpaceToDepth move `blocksize`² between channels and space.
void inferDepthSpace(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  if (!input || input.getRank() != 4)
    return;
  int64_t block = node.getNode().getIntAttr("blocksize", 0);
  if (block <= 0)
    return;
  bool toSpace = node.getNode().getOpType() == "DepthToSpace";
  auto scale = [&](int64_t dim, bool multiply) {
    if (ShapedType::isDynamic(dim))
      return kDynamic;
    return multiply ? dim * block : dim / block;
  };
  ArrayRef<int64_t> d = input.getShape();
  int64_t channels = ShapedType::isDynamic(d[1]) ? kDynamic
                     : toSpace                   ? d[1] / (block * block)
                                                 : d[1] * block * block;
  node.setResult(0, input.getElementType(),
                 {d[0], channels, scale(d[2], toSpace), scale(d[3], toSpace)});
}

} // namespace

void moec::infer::addShapeTypeRules(TypeRules &rules) {
  rules["Shape"] = inferShape;
  rules["Size"] = inferSize;
  rules["Reshape"] = inferReshape;
  rules["Flatten"] = inferFlatten;
  rules["Squeeze"] = [](NodeInference &node) { inferSqueezeOrUnsqueeze(node, false); };
  rules["Unsqueeze"] = [](NodeInference &node) { inferSqueezeOrUnsqueeze(node, true); };
  rules["Transpose"] = inferTranspose;
  rules["Concat"] = inferConcat;
  rules["Split"] = inferSplit;
  rules["Slice"] = inferSlice;
  rules["Expand"] = inferExpand;
  rules["Tile"] = inferTile;
  rules["ConstantOfShape"] = inferConstantOfShape;
  rules["Range"] = inferRange;
  rules["Pad"] = inferPad;
  rules["DepthToSpace"] = inferDepthSpace;
  rules["SpaceToDepth"] = inferDepthSpace;
}
