//===- IndexingTypes.cpp - Types of gathers, scatters and index ops -------===//

#include "TypeInference.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

void inferGather(NodeInference &node) {
  Type element = node.getElementType(0);
  RankedTensorType data = node.getRanked(0), indices = node.getRanked(1);
  if (!data || !indices) {
    node.setUnrankedResult(0, element);
    return;
  }
  std::optional<int64_t> axis = normalizeAxis(node.getNode().getIntAttr("axis", 0), data.getRank());
  if (!axis)
    return;
  SmallVector<int64_t> dims(data.getShape().take_front(*axis));
  llvm::append_range(dims, indices.getShape());
  llvm::append_range(dims, data.getShape().drop_front(*axis + 1));
  node.setResult(0, element, dims);
  std::optional<SmallVector<int64_t>> picked = node.getConstantInts(1);
  int64_t axisSize = data.getDimSize(*axis);
  if (picked && !ShapedType::isDynamic(axisSize))
    for (int64_t index : *picked)
      if (index < -axisSize || index >= axisSize)
        return node.fail("index " + Twine(index) + " is out of range for dimension " +
                         Twine(*axis) + " of data (size " + Twine(axisSize) + ")");
  // Gathering dims out of a shape: Gather(Shape(x), i).
  std::optional<IntContents> known = node.getContents(0);
  if (!known || !picked || data.getRank() != 1)
    return;
  IntContents gathered;
  for (int64_t index : *picked) {
    int64_t size = known->size();
    if (index < -size || index >= size)
      return;
    gathered.push_back((*known)[index < 0 ? index + size : index]);
  }
  node.setContents(0, gathered);
}

void inferGatherElements(NodeInference &node) {
  if (RankedTensorType indices = node.getRanked(1))
    node.setResult(0, node.getElementType(0), indices.getShape());
  else
    node.setUnrankedResult(0, node.getElementType(0));
}

void inferGatherND(NodeInference &node) {
  Type element = node.getElementType(0);
  RankedTensorType data = node.getRanked(0), indices = node.getRanked(1);
  if (!data || !indices || indices.getRank() < 1 ||
      indices.isDynamicDim(indices.getRank() - 1)) {
    node.setUnrankedResult(0, element);
    return;
  }
  int64_t batchDims = node.getNode().getIntAttr("batch_dims", 0);
  int64_t depth = indices.getDimSize(indices.getRank() - 1);
  if (batchDims < 0 || batchDims + depth > data.getRank())
    return;
  SmallVector<int64_t> dims(indices.getShape().drop_back());
  llvm::append_range(dims, data.getShape().drop_front(batchDims + depth));
  node.setResult(0, element, dims);
}

void inferNonZero(NodeInference &node) {
  Type i64 = Builder(node.getNode().getContext()).getI64Type();
  if (RankedTensorType input = node.getRanked(0))
    node.setResult(0, i64, {input.getRank(), kDynamic});
  else
    node.setUnrankedResult(0, i64);
}

void inferOneHot(NodeInference &node) {
  Type element = node.getElementType(2);
  RankedTensorType indices = node.getRanked(0);
  if (!indices) {
    node.setUnrankedResult(0, element);
    return;
  }
  int64_t rank = indices.getRank() + 1;
  std::optional<int64_t> axis = normalizeAxis(node.getNode().getIntAttr("axis", -1), rank);
  if (!axis)
    return;
  std::optional<SmallVector<int64_t>> depth = node.getConstantInts(1);
  SmallVector<int64_t> dims(indices.getShape());
  dims.insert(dims.begin() + *axis, depth && depth->size() == 1 ? (*depth)[0] : kDynamic);
  node.setResult(0, element, dims);
  // One-hot rows of known indices along the last axis: TorchScript computes the repeats of
  // `repeat_interleave` so.
  std::optional<SmallVector<int64_t>> picked = node.getConstantInts(0);
  std::optional<SmallVector<int64_t>> values = node.getConstantInts(2);
  if (!picked || !depth || depth->size() != 1 || !values || values->size() != 2 ||
      indices.getRank() > 1 || *axis != rank - 1 ||
      int64_t(picked->size()) * (*depth)[0] > kMaxTrackedElements)
    return;
  IntContents rows;
  for (int64_t index : *picked)
    for (int64_t column = 0; column < (*depth)[0]; ++column)
      rows.push_back(index == column || index + (*depth)[0] == column ? (*values)[1]
                                                                       : (*values)[0]);
  node.setContents(0, rows);
}

void inferCompress(NodeInference &node) {
  Type element = node.getElementType(0);
  RankedTensorType input = node.getRanked(0);
  onnx::NodeOp op = node.getNode();
  if (!op.hasNodeAttr("axis")) {
    node.setResult(0, element, {kDynamic});
    return;
  }
  if (!input)
    return;
  std::optional<int64_t> axis = normalizeAxis(op.getIntAttr("axis", 0), input.getRank());
  if (!axis)
    return;
  SmallVector<int64_t> dims(input.getShape());
  dims[*axis] = kDynamic;
  node.setResult(0, element, dims);
}

void inferTopK(NodeInference &node) {
  RankedTensorType input = node.getRanked(0);
  Type i64 = Builder(node.getNode().getContext()).getI64Type();
  if (!input) {
    node.setUnrankedResult(0, node.getElementType(0));
    node.setUnrankedResult(1, i64);
    return;
  }
  onnx::NodeOp op = node.getNode();
  std::optional<int64_t> axis = normalizeAxis(op.getIntAttr("axis", -1), input.getRank());
  if (!axis)
    return;
  int64_t k = kDynamic;
  if (node.getOpset() >= 10) {
    std::optional<SmallVector<int64_t>> given = node.getConstantInts(1);
    if (given && given->size() == 1)
      k = (*given)[0];
  } else {
    k = op.getIntAttr("k", kDynamic);
  }
  SmallVector<int64_t> dims(input.getShape());
  dims[*axis] = k;
  node.setResult(0, input.getElementType(), dims);
  node.setResult(1, i64, dims);
}

} // namespace

void moec::infer::addIndexingTypeRules(TypeRules &rules) {
  rules["Gather"] = inferGather;
  rules["GatherElements"] = inferGatherElements;
  rules["GatherND"] = inferGatherND;
  // Scatters write into a copy of their data.
  for (StringRef op : {"Scatter", "ScatterElements", "ScatterND"})
    rules[op] = [](NodeInference &node) { node.setResultLikeInput(0, 0); };
  rules["NonZero"] = inferNonZero;
  rules["OneHot"] = inferOneHot;
  rules["Compress"] = inferCompress;
  rules["TopK"] = inferTopK;
}
