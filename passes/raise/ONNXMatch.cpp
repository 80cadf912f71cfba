//===- ONNXMatch.cpp - Reading onnx-level graphs for the raising passes ---===//

#include "ONNXMatch.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace moec;
using namespace moec::raise;

onnx::NodeOp moec::raise::getDefiningNode(Value value, StringRef opType) {
  auto node = value ? value.getDefiningOp<onnx::NodeOp>() : onnx::NodeOp();
  if (!node || node.getOpType() != opType || !node.getDomain().empty())
    return {};
  return node;
}

SmallVector<onnx::NodeOp> moec::raise::getUsers(Value value, StringRef opType) {
  SmallVector<onnx::NodeOp> users;
  for (Operation *user : value.getUsers())
    if (auto node = llvm::dyn_cast<onnx::NodeOp>(user);
        node && node.getOpType() == opType && node.getDomain().empty())
      users.push_back(node);
  return users;
}

onnx::NodeOp moec::raise::getSingleUser(Value value, StringRef opType) {
  SmallVector<onnx::NodeOp> users = getUsers(value, opType);
  return users.size() == 1 ? users.front() : onnx::NodeOp();
}

Value moec::raise::skipFloatCasts(Value value) {
  while (onnx::NodeOp cast = getDefiningNode(value, "Cast")) {
    Value input = cast.getInputs()[0];
    if (!llvm::isa<FloatType>(getElementTypeOrSelf(input.getType())) ||
        getElementTypeOrSelf(input.getType()) != getElementTypeOrSelf(value.getType()))
      break;
    value = input;
  }
  return value;
}

std::optional<ConstantBytes> moec::raise::getConstantBytes(Value value) {
  auto constant = value ? value.getDefiningOp<onnx::ConstantOp>() : onnx::ConstantOp();
  if (!constant)
    return std::nullopt;
  return onnx::getElementsBytes(constant.getValue());
}

/// A copy of `constant`'s elements, splats expanded.
static std::optional<ConstantData> copyElements(std::optional<ConstantBytes> constant) {
  if (!constant)
    return std::nullopt;
  ConstantData data{constant->type, {}};
  if (constant->splat) {
    for (int64_t i = 0, e = constant->type.getNumElements(); i < e; ++i)
      data.bytes.append(constant->bytes.begin(), constant->bytes.end());
  } else {
    data.bytes.assign(constant->bytes.begin(), constant->bytes.end());
  }
  return data;
}

std::optional<ConstantData> moec::raise::getConstantData(Value value) {
  return copyElements(getConstantBytes(value));
}

std::optional<ConstantData> moec::raise::getFillData(onnx::NodeOp constantOfShape) {
  ElementsAttr fill = constantOfShape.getTensorAttr("value");
  if (!fill) {
    // ONNX's default is one float zero.
    auto type = RankedTensorType::get({1}, Float32Type::get(constantOfShape.getContext()));
    return ConstantData{type, SmallVector<char>(sizeof(float), 0)};
  }
  return copyElements(onnx::getElementsBytes(fill));
}

/// Element `index` of `data` as a double, for float (any width, bf16 models' constants
/// included) and i32/i64 elements.
static std::optional<double> readElement(const ConstantData &data, int64_t index) {
  Type element = data.type.getElementType();
  const char *at = data.bytes.data();
  auto read = [&](auto sample) {
    decltype(sample) value;
    std::memcpy(&value, at + index * sizeof(value), sizeof(value));
    return double(value);
  };
  if (auto floatType = llvm::dyn_cast<FloatType>(element)) {
    unsigned width = floatType.getWidth();
    if (width > 64)
      return std::nullopt;
    uint64_t bits = 0;
    std::memcpy(&bits, at + index * (width / 8), width / 8);
    APFloat value(floatType.getFloatSemantics(), APInt(width, bits));
    bool losesInfo = false;
    value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &losesInfo);
    return value.convertToDouble();
  }
  if (element.isInteger(32))
    return read(int32_t());
  if (element.isInteger(64))
    return read(int64_t());
  return std::nullopt;
}

std::optional<double> moec::raise::getScalarConstant(Value value) {
  // Checked before reading: `value` may be gigabytes of weights.
  auto type = value ? llvm::dyn_cast<RankedTensorType>(value.getType()) : nullptr;
  if (!type || !type.hasStaticShape() || type.getNumElements() != 1)
    return std::nullopt;
  std::optional<ConstantData> data = getConstantData(value);
  if (!data || data->type.getNumElements() != 1)
    return std::nullopt;
  return readElement(*data, 0);
}

std::optional<SmallVector<int64_t>> moec::raise::getIntConstant(Value value) {
  auto constant = value ? value.getDefiningOp<onnx::ConstantOp>() : onnx::ConstantOp();
  if (!constant)
    return std::nullopt;
  return onnx::getIntValues(constant.getValue(), std::numeric_limits<int64_t>::max());
}

/// The input of `value`'s node when that node only reshapes it, or null.
static Value getReshapedInput(Value value) {
  auto node = value.getDefiningOp<onnx::NodeOp>();
  bool reshapes = node && node.getDomain().empty() && !node.getInputs().empty() &&
                  llvm::is_contained({"Reshape", "Squeeze", "Unsqueeze", "Flatten"},
                                     node.getOpType());
  return reshapes ? node.getInputs()[0] : Value();
}

Value moec::raise::skipReshapes(Value value) {
  while (Value input = getReshapedInput(value))
    value = input;
  return value;
}

Value moec::raise::skipReshapesToRank(Value value, int64_t rank) {
  for (; value; value = getReshapedInput(value))
    if (auto type = llvm::dyn_cast<RankedTensorType>(value.getType());
        type && type.getRank() == rank)
      return value;
  return {};
}

bool moec::raise::hasIntsInput(onnx::NodeOp node, unsigned index, ArrayRef<int64_t> expected) {
  std::optional<SmallVector<int64_t>> values =
      node.hasInput(index) ? getIntConstant(node.getInputs()[index]) : std::nullopt;
  return values && ArrayRef<int64_t>(*values) == expected;
}

std::optional<SmallVector<double>> moec::raise::getFloatConstant(Value value) {
  std::optional<ConstantData> data = getConstantData(value);
  if (!data || !llvm::isa<FloatType>(data->type.getElementType()))
    return std::nullopt;
  SmallVector<double> values;
  for (int64_t i = 0, e = data->type.getNumElements(); i < e; ++i)
    values.push_back(*readElement(*data, i));
  return values;
}

std::optional<SmallVector<int64_t>> moec::raise::getExpandShape(Value shape) {
  if (std::optional<SmallVector<int64_t>> constant = getIntConstant(shape))
    return constant;
  // Where(Equal(s, Mul(ones, -1)), ones, s) with ones = ConstantOfShape([rank], 1).
  onnx::NodeOp where = getDefiningNode(shape, "Where");
  onnx::NodeOp equal = where ? getDefiningNode(where.getInputs()[0], "Equal") : nullptr;
  onnx::NodeOp ones = where ? getDefiningNode(where.getInputs()[1], "ConstantOfShape") : nullptr;
  if (!equal || !ones)
    return std::nullopt;
  // torch writes s twice, as two constants.
  std::optional<SmallVector<int64_t>> target = getIntConstant(where.getInputs()[2]);
  if (!target || getIntConstant(equal.getInputs()[0]) != target)
    return std::nullopt;
  std::optional<SmallVector<int64_t>> rank = getIntConstant(ones.getInputs()[0]);
  std::optional<ConstantData> fill = getFillData(ones);
  onnx::NodeOp minusOnes = getDefiningNode(equal.getInputs()[1], "Mul");
  if (!rank || rank->size() != 1 || (*rank)[0] != int64_t(target->size()) || !fill ||
      fill->type.getNumElements() != 1 || readElement(*fill, 0) != 1.0 ||
      !matchEitherInput(minusOnes, [&](Value value) {
        Value other = minusOnes.getInputs()[minusOnes.getInputs()[0] == value ? 1 : 0];
        return value == ones.getResult(0) && isScalarConstant(other, -1.0);
      }))
    return std::nullopt;
  for (int64_t &dim : *target)
    if (dim == -1)
      dim = 1;
  return target;
}

/// Whether the integer tensor `part` (0-D or 1-D) holds dims `first, first + 1, ...` of
/// `tensor`, as many as it has elements: a constant equal to those static dims, `Shape(tensor)`
/// over that range, or `Gather(Shape(tensor), those indices)`, maybe unsqueezed (or a
/// 0-D one reshaped to [1]).
static bool holdsDimsOf(Value part, Value tensor, int64_t first) {
  auto partType = llvm::dyn_cast<RankedTensorType>(part.getType());
  auto type = llvm::dyn_cast<RankedTensorType>(tensor.getType());
  if (!partType || !type || partType.getRank() > 1 || !partType.hasStaticShape())
    return false;
  int64_t count = partType.getNumElements(), rank = type.getRank();
  if (first + count > rank)
    return false;
  if (std::optional<SmallVector<int64_t>> values = getIntConstant(part))
    return llvm::all_of(llvm::enumerate(*values), [&](auto element) {
      return element.value() == type.getDimSize(first + element.index());
    });
  if (onnx::NodeOp shape = getDefiningNode(part, "Shape")) {
    auto bound = [&](int64_t at) { return std::clamp(at < 0 ? at + rank : at, int64_t(0), rank); };
    return shape.getInputs()[0] == tensor && bound(shape.getIntAttr("start", 0)) == first &&
           bound(shape.getIntAttr("end", rank)) == first + count;
  }
  if (onnx::NodeOp unsqueeze = getDefiningNode(part, "Unsqueeze"))
    return hasIntsInput(unsqueeze, 1, {0}) && holdsDimsOf(unsqueeze.getInputs()[0], tensor, first);
  // A 0-D dim reshaped to [1], as torch writes `tensor.shape[i:i+1]` too.
  if (onnx::NodeOp reshape = getDefiningNode(part, "Reshape")) {
    auto dimType = llvm::dyn_cast<RankedTensorType>(reshape.getInputs()[0].getType());
    return dimType && dimType.getRank() == 0 && holdsDimsOf(reshape.getInputs()[0], tensor, first);
  }
  onnx::NodeOp gather = getDefiningNode(part, "Gather");
  std::optional<SmallVector<int64_t>> indices =
      gather ? getIntConstant(gather.getInputs()[1]) : std::nullopt;
  if (!indices || gather.getIntAttr("axis", 0) != 0 ||
      !holdsDimsOf(gather.getInputs()[0], tensor, 0) ||
      llvm::cast<RankedTensorType>(gather.getInputs()[0].getType()).getNumElements() != rank)
    return false;
  return llvm::all_of(llvm::enumerate(*indices), [&](auto index) {
    int64_t dim = index.value() < 0 ? index.value() + rank : index.value();
    return dim == first + int64_t(index.index());
  });
}

bool moec::raise::isLeadingDimsProduct(Value value, Value tensor, int64_t count) {
  auto type = llvm::dyn_cast<RankedTensorType>(tensor.getType());
  auto valueType = llvm::dyn_cast<RankedTensorType>(value.getType());
  if (!type || !valueType || count < 1 || count > type.getRank() || valueType.getRank() > 1 ||
      valueType.getNumElements() != 1)
    return false;
  if (count == 1)
    return holdsDimsOf(value, tensor, 0);
  if (std::optional<SmallVector<int64_t>> constant = getIntConstant(value)) {
    ArrayRef<int64_t> dims = type.getShape().take_front(count);
    return llvm::none_of(dims, ShapedType::isDynamic) &&
           (*constant)[0] == std::accumulate(dims.begin(), dims.end(), int64_t(1),
                                             std::multiplies<int64_t>());
  }
  if (onnx::NodeOp unsqueeze = getDefiningNode(value, "Unsqueeze"))
    return hasIntsInput(unsqueeze, 1, {0}) &&
           isLeadingDimsProduct(unsqueeze.getInputs()[0], tensor, count);
  onnx::NodeOp mul = getDefiningNode(value, "Mul");
  std::optional<unsigned> leading =
      mul ? matchEitherInput(mul,
                             [&](Value first) {
                               return isLeadingDimsProduct(first, tensor, count - 1);
                             })
          : std::nullopt;
  return leading && holdsDimsOf(mul.getInputs()[1 - *leading], tensor, count - 1);
}

bool moec::raise::isShapeOf(Value shape, Value tensor) {
  auto type = llvm::dyn_cast<RankedTensorType>(tensor.getType());
  auto shapeType = llvm::dyn_cast<RankedTensorType>(shape.getType());
  if (!type || !shapeType || shapeType.getRank() != 1 ||
      shapeType.getDimSize(0) != type.getRank())
    return false;
  if (holdsDimsOf(shape, tensor, 0))
    return true;
  onnx::NodeOp concat = getDefiningNode(shape, "Concat");
  if (!concat || concat.getIntAttr("axis", 0) != 0)
    return false;
  int64_t first = 0;
  for (Value part : concat.getInputs()) {
    if (!holdsDimsOf(part, tensor, first))
      return false;
    first += llvm::cast<RankedTensorType>(part.getType()).getNumElements();
  }
  return first == type.getRank();
}

bool moec::raise::isFilledLike(Value value, Value like, double fill) {
  if (onnx::NodeOp expand = getDefiningNode(value, "Expand"))
    return isScalarConstant(expand.getInputs()[0], fill) &&
           isShapeOf(expand.getInputs()[1], like);
  onnx::NodeOp constantOfShape = getDefiningNode(value, "ConstantOfShape");
  if (!constantOfShape || !isShapeOf(constantOfShape.getInputs()[0], like))
    return false;
  std::optional<ConstantData> data = getFillData(constantOfShape);
  if (!data || data->type.getElementType() != getElementTypeOrSelf(value.getType()))
    return false;
  if (fill == 0.0)
    return llvm::all_of(data->bytes, [](char byte) { return byte == 0; });
  return data->type.getNumElements() == 1 && readElement(*data, 0) == fill;
}

bool moec::raise::isZerosLike(Value value, Value like) { return isFilledLike(value, like, 0.0); }

bool moec::raise::isScalarConstant(Value value, double expected) {
  std::optional<double> actual = getScalarConstant(value);
  // Infinities equal only themselves.
  return actual && (*actual == expected ||
                    (std::isfinite(expected) && std::abs(*actual - expected) <=
                                                    1e-5 * std::max(1.0, std::abs(expected))));
}

bool moec::raise::isStaticFloatConstant(Value value, int64_t rank) {
  auto constant = value ? value.getDefiningOp<onnx::ConstantOp>() : onnx::ConstantOp();
  auto type = constant ? llvm::dyn_cast<RankedTensorType>(constant.getType()) : nullptr;
  return type && type.getRank() == rank && type.hasStaticShape() &&
         llvm::isa<FloatType>(type.getElementType());
}

std::optional<RowGather> moec::raise::matchRowGather(Value value) {
  if (onnx::NodeOp gatherND = getDefiningNode(value, "GatherND")) {
    auto indices = llvm::dyn_cast<RankedTensorType>(gatherND.getInputs()[1].getType());
    if (gatherND.getIntAttr("batch_dims", 0) != 0 || !indices || indices.getRank() != 2 ||
        indices.getDimSize(1) != 1)
      return std::nullopt;
    return RowGather{gatherND.getInputs()[0], gatherND.getInputs()[1]};
  }
  if (onnx::NodeOp gather = getDefiningNode(value, "Gather")) {
    auto indices = llvm::dyn_cast<RankedTensorType>(gather.getInputs()[1].getType());
    if (gather.getIntAttr("axis", 0) != 0 || !indices || indices.getRank() != 1)
      return std::nullopt;
    return RowGather{gather.getInputs()[0], gather.getInputs()[1]};
  }
  return std::nullopt;
}

std::optional<unsigned>
moec::raise::matchEitherInput(onnx::NodeOp node, function_ref<bool(Value)> matchFirst) {
  if (!node || node.getInputs().size() != 2)
    return std::nullopt;
  for (unsigned index : {0u, 1u})
    if (matchFirst(node.getInputs()[index]))
      return index;
  return std::nullopt;
}

int64_t Linear::getInSize() const {
  return llvm::cast<RankedTensorType>(weight.getType())
      .getDimSize((stacked || expertOfStack ? 1 : 0) + (weightIsOutIn ? 1 : 0));
}

int64_t Linear::getOutSize() const {
  return llvm::cast<RankedTensorType>(weight.getType())
      .getDimSize((stacked || expertOfStack ? 1 : 0) + (weightIsOutIn ? 0 : 1));
}

int64_t Linear::getNumExperts() const {
  assert((stacked || expertOfStack) && "only a stack holds several experts");
  return llvm::cast<RankedTensorType>(weight.getType()).getDimSize(0);
}

int64_t Linear::getWeightOffset() const {
  return expertOfStack ? *expertOfStack * getInSize() * getOutSize() : 0;
}

std::optional<HitPart> moec::raise::matchHitPart(Value index) {
  auto indexType = llvm::dyn_cast<RankedTensorType>(index.getType());
  if (!indexType || indexType.getRank() != 0)
    return std::nullopt;
  Value part = index;
  if (onnx::NodeOp gather = getDefiningNode(index, "Gather")) {
    std::optional<SmallVector<int64_t>> first = getIntConstant(gather.getInputs()[1]);
    if (gather.getIntAttr("axis", 0) != 0 || !first || *first != SmallVector<int64_t>{0})
      return std::nullopt;
    part = gather.getInputs()[0];
  }
  part = skipReshapes(part);
  auto split = part.getDefiningOp<onnx::NodeOp>();
  auto partType = llvm::dyn_cast<RankedTensorType>(part.getType());
  if (!split || split.getOpType() != "Split" || !split.getDomain().empty() ||
      split.getIntAttr("axis", 0) != 0 || !partType || !partType.hasStaticShape() ||
      partType.getNumElements() != 1)
    return std::nullopt;
  onnx::NodeOp transpose = getDefiningNode(skipReshapes(split.getInputs()[0]), "Transpose");
  onnx::NodeOp nonZero =
      transpose ? getDefiningNode(transpose.getInputs()[0], "NonZero") : nullptr;
  auto hitType = nonZero ? llvm::dyn_cast<RankedTensorType>(nonZero.getInputs()[0].getType())
                         : nullptr;
  if (!nonZero || transpose.getIntsAttr("perm") != SmallVector<int64_t>{1, 0} || !hitType ||
      hitType.getRank() != 1)
    return std::nullopt;
  return HitPart{nonZero.getInputs()[0], llvm::cast<OpResult>(part).getResultNumber(),
                 int64_t(split->getNumResults())};
}

std::optional<int64_t> moec::raise::getVisitedExpert(Value index, int64_t experts) {
  auto indexType = llvm::dyn_cast<RankedTensorType>(index.getType());
  if (!indexType || indexType.getRank() != 0)
    return std::nullopt;
  if (std::optional<SmallVector<int64_t>> constant = getIntConstant(index))
    return (*constant)[0] >= 0 && (*constant)[0] < experts ? std::optional((*constant)[0])
                                                           : std::nullopt;
  std::optional<HitPart> hit = matchHitPart(index);
  if (!hit || hit->parts != experts)
    return std::nullopt;
  return hit->part;
}

std::optional<ExpertMatrix> moec::raise::matchExpertMatrix(Value value, ExpertOfIndex expertOf) {
  auto type = llvm::dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() != 2)
    return std::nullopt;
  ExpertMatrix matrix;
  auto isPermutation = [](onnx::NodeOp transpose, ArrayRef<int64_t> perm) {
    return transpose.getIntsAttr("perm") == SmallVector<int64_t>(perm);
  };
  if (onnx::NodeOp transpose = getDefiningNode(value, "Transpose")) {
    if (!isPermutation(transpose, {1, 0}))
      return std::nullopt;
    matrix.transposed = true;
    value = transpose.getInputs()[0];
  }
  Value stack, index;
  // The Split's part, and how many parts it has.
  std::optional<int64_t> part, parts;
  if (onnx::NodeOp squeeze = getDefiningNode(value, "Squeeze")) {
    Value sliced = squeeze.getInputs()[0];
    onnx::NodeOp split = getDefiningNode(sliced, "Split");
    auto slicedType = llvm::dyn_cast<RankedTensorType>(sliced.getType());
    if (!split || split.getIntAttr("axis", 0) != 0 || !hasIntsInput(squeeze, 1, {0}) ||
        !slicedType || slicedType.getRank() != 3 || slicedType.getDimSize(0) != 1)
      return std::nullopt;
    stack = split.getInputs()[0];
    part = llvm::cast<OpResult>(sliced).getResultNumber();
    parts = split->getNumResults();
  } else if (onnx::NodeOp gather = getDefiningNode(value, "Gather")) {
    if (gather.getIntAttr("axis", 0) != 0)
      return std::nullopt;
    stack = gather.getInputs()[0];
    index = gather.getInputs()[1];
  } else {
    return std::nullopt;
  }
  if (onnx::NodeOp transpose = getDefiningNode(stack, "Transpose")) {
    if (!isPermutation(transpose, {0, 2, 1}))
      return std::nullopt;
    matrix.transposed = !matrix.transposed;
    stack = transpose.getInputs()[0];
  }
  if (!isStaticFloatConstant(stack, 3))
    return std::nullopt;
  int64_t experts = llvm::cast<RankedTensorType>(stack.getType()).getDimSize(0);
  // A Split's parts each hold one expert when there are E of them.
  if (parts && *parts != experts)
    return std::nullopt;
  std::optional<int64_t> expert = part ? part : expertOf(index, experts);
  if (!expert)
    return std::nullopt;
  matrix.stack = stack;
  matrix.expert = *expert;
  return matrix;
}

/// Whether `value` is a static 2-D constant / a 1-D constant of `size` elements.
static bool isMatrixConstant(Value value) {
  std::optional<ConstantBytes> constant = getConstantBytes(value);
  return constant && constant->type.getRank() == 2 &&
         llvm::isa<FloatType>(constant->type.getElementType());
}

static bool isVectorConstant(Value value, int64_t size) {
  auto constant = value ? value.getDefiningOp<onnx::ConstantOp>() : onnx::ConstantOp();
  auto type = constant ? llvm::dyn_cast<RankedTensorType>(constant.getType()) : nullptr;
  return type && type.getRank() == 1 && type.getDimSize(0) == size &&
         llvm::isa<FloatType>(type.getElementType());
}

/// matchLinear, and with `expertMatrices` matchExpertLinear (`expertOf` naming the experts).
static FailureOr<Linear> matchLinearOf(Value output, Reason &reason, bool expertMatrices,
                                       ExpertOfIndex expertOf = getVisitedExpert) {
  Linear linear;
  if (onnx::NodeOp gemm = getDefiningNode(output, "Gemm")) {
    if (gemm.getIntAttr("transA", 0) != 0 || gemm.getFloatAttr("alpha", 1.0) != 1.0 ||
        gemm.getFloatAttr("beta", 1.0) != 1.0)
      return reason = describe(gemm) + " is not a plain Linear (transA, alpha or beta)",
             failure();
    linear.input = gemm.getInputs()[0];
    linear.weight = gemm.getInputs()[1];
    linear.weightIsOutIn = gemm.getIntAttr("transB", 0) == 1;
    if (!isMatrixConstant(linear.weight))
      return reason = describe(gemm) + " has no constant 2-D weight", failure();
    if (gemm.hasInput(2)) {
      linear.bias = gemm.getInputs()[2];
      if (!isVectorConstant(linear.bias, linear.getOutSize()))
        return reason = describe(gemm) + " has a bias that is not a constant [out] vector",
               failure();
    }
    return linear;
  }
  Value product = output;
  if (onnx::NodeOp add = getDefiningNode(output, "Add")) {
    std::optional<unsigned> biasIndex = matchEitherInput(add, [](Value v) {
      return v.getDefiningOp<onnx::ConstantOp>() != nullptr;
    });
    if (!biasIndex)
      return reason = describe(add) + " is not a Linear's bias add", failure();
    linear.bias = add.getInputs()[*biasIndex];
    product = add.getInputs()[1 - *biasIndex];
  }
  onnx::NodeOp matmul = getDefiningNode(product, "MatMul");
  if (!matmul) {
    Operation *op = product.getDefiningOp();
    return reason = (op ? describe(op) : std::string("a block argument")) +
                    " where a Linear (MatMul or Gemm) was expected",
           failure();
  }
  linear.input = matmul.getInputs()[0];
  linear.weight = matmul.getInputs()[1];
  std::optional<ExpertMatrix> matrix =
      expertMatrices ? matchExpertMatrix(linear.weight, expertOf) : std::nullopt;
  if (matrix) {
    linear.weight = matrix->stack;
    linear.weightIsOutIn = matrix->transposed;
    linear.expertOfStack = matrix->expert;
  } else if (!isMatrixConstant(linear.weight)) {
    return reason = describe(matmul) + " has no constant 2-D weight", failure();
  }
  if (linear.bias && !isVectorConstant(linear.bias, linear.getOutSize()))
    return reason = describe(linear.bias.getDefiningOp()) +
                    " is added to a Linear but is not a constant [out] vector",
           failure();
  return linear;
}

FailureOr<Linear> moec::raise::matchLinear(Value output, Reason &reason) {
  return matchLinearOf(output, reason, /*expertMatrices=*/false);
}

FailureOr<Linear> moec::raise::matchExpertLinear(Value output, Reason &reason,
                                                 ExpertOfIndex expertOf) {
  return matchLinearOf(output, reason, /*expertMatrices=*/true, expertOf);
}

std::string moec::raise::describe(Operation *op) {
  if (auto node = llvm::dyn_cast<onnx::NodeOp>(op))
    return "'" + node.getName().str() + "' (" + node.getOpType().str() + ")";
  if (auto constant = llvm::dyn_cast<onnx::ConstantOp>(op))
    return "constant '" + constant.getName().str() + "'";
  return "'" + op->getName().getStringRef().str() + "'";
}
