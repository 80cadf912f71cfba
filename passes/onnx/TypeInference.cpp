//===- TypeInference.cpp - What type rules see of a node ------------------===//

#include "TypeInference.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

NodeInference::NodeInference(onnx::NodeOp node, const DenseMap<Value, IntContents> &contents)
    : node(node), contents(contents), resultTypes(node.getNumResults()),
      resultContents(node.getNumResults()) {}

Type NodeInference::getElementType(unsigned index) const {
  Value input = getInput(index);
  auto tensor = input ? dyn_cast<TensorType>(input.getType()) : TensorType();
  return tensor ? tensor.getElementType() : Type();
}

RankedTensorType NodeInference::getRanked(unsigned index) const {
  Value input = getInput(index);
  return input ? dyn_cast<RankedTensorType>(input.getType()) : RankedTensorType();
}

std::optional<IntContents> NodeInference::getContents(unsigned index) const {
  Value input = getInput(index);
  auto known = input ? contents.find(input) : contents.end();
  if (known != contents.end())
    return known->second;
  // An empty integer tensor (a slice of a shape past its end) holds nothing to know.
  RankedTensorType type = getRanked(index);
  if (type && type.hasStaticShape() && type.getNumElements() == 0 &&
      type.getElementType().isInteger())
    return IntContents();
  return std::nullopt;
}

std::optional<SmallVector<int64_t>> NodeInference::getConstantInts(unsigned index) const {
  std::optional<IntContents> known = getContents(index);
  if (!known)
    return std::nullopt;
  SmallVector<int64_t> values;
  for (std::optional<int64_t> element : *known) {
    if (!element)
      return std::nullopt;
    values.push_back(*element);
  }
  return values;
}

int64_t NodeInference::getOpset() const {
  // A model always imports its domains' opsets; ONNX's newest is the safe reading of one that
  // does not, since the rules follow each op's latest form.
  return node.getOpsetVersion().value_or(onnx::kNewestOpset);
}

void NodeInference::setResult(unsigned index, Type element, ArrayRef<int64_t> shape) {
  if (!element || index >= resultTypes.size())
    return;
  // Dims come from the model's own values (Reshape targets, Split sizes, Tile repeats, pads):
  // a negative one is an invalid model that legalization reports; here it is left unknown.
  SmallVector<int64_t> dims = llvm::map_to_vector(shape, [](int64_t dim) {
    return dim < 0 ? ShapedType::kDynamic : dim;
  });
  resultTypes[index] = RankedTensorType::get(dims, element);
}

void NodeInference::setUnrankedResult(unsigned index, Type element) {
  if (element && index < resultTypes.size())
    resultTypes[index] = UnrankedTensorType::get(element);
}

void NodeInference::setResultLikeInput(unsigned index, unsigned input) {
  if (RankedTensorType ranked = getRanked(input))
    setResult(index, ranked.getElementType(), ranked.getShape());
  else
    setUnrankedResult(index, getElementType(input));
}

void NodeInference::setContents(unsigned index, IntContents known) {
  if (index < resultContents.size() && int64_t(known.size()) <= kMaxTrackedElements)
    resultContents[index] = std::move(known);
}

std::string moec::infer::getRuleKey(StringRef domain, StringRef opType) {
  if (domain.empty() || domain == "ai.onnx")
    return opType.str();
  return (domain + "::" + opType).str();
}

std::optional<SmallVector<int64_t>> moec::infer::broadcastShapes(ArrayRef<int64_t> lhs,
                                                                 ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t a = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t b = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (a == 1) {
      result[i] = b;
    } else if (b == 1) {
      result[i] = a;
    } else if (ShapedType::isDynamic(a)) {
      // A dynamic dim against a static one other than 1 must be that one in a valid model.
      result[i] = b;
    } else if (ShapedType::isDynamic(b) || a == b) {
      result[i] = a;
    } else {
      return std::nullopt;
    }
  }
  return result;
}

std::optional<int64_t> moec::infer::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

int64_t moec::infer::multiplyDims(ArrayRef<int64_t> dims) {
  int64_t product = 1;
  for (int64_t dim : dims) {
    if (ShapedType::isDynamic(dim))
      return ShapedType::kDynamic;
    product *= dim;
  }
  return product;
}

IntContents moec::infer::contentsOfDims(ArrayRef<int64_t> dims) {
  IntContents known;
  for (int64_t dim : dims)
    known.push_back(ShapedType::isDynamic(dim) ? std::nullopt : std::optional<int64_t>(dim));
  return known;
}
