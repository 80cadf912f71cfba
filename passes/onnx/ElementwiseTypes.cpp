//===- ElementwiseTypes.cpp - Types of elementwise and broadcasting ops ---===//

#include "TypeInference.h"

#include "moec/Dialect/ONNX/DataTypes.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

/// "[?, 256]": a shape in messages.
std::string describeShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, size] : llvm::enumerate(shape))
    text += (i ? ", " : "") + (ShapedType::isDynamic(size) ? "?" : std::to_string(size));
  return text + "]";
}

/// The broadcast shape of every present input, or nothing when a rank is unknown; static
/// sizes that cannot broadcast fail the node.
std::optional<SmallVector<int64_t>> broadcastInputs(NodeInference &node, unsigned first,
                                                    unsigned count) {
  SmallVector<int64_t> shape;
  for (unsigned i = first; i < first + count; ++i) {
    if (!node.getInput(i))
      continue;
    RankedTensorType type = node.getRanked(i);
    if (!type)
      return std::nullopt;
    std::optional<SmallVector<int64_t>> broadcast = broadcastShapes(shape, type.getShape());
    if (!broadcast) {
      node.fail("input " + Twine(i) + " of shape " + describeShape(type.getShape()) +
                " does not broadcast with the shape " + describeShape(shape) +
                " of the inputs before it");
      return std::nullopt;
    }
    shape = *broadcast;
  }
  return shape;
}

/// Contents of a broadcasting integer op over known scalars or equal-length vectors.
std::optional<IntContents> combineContents(const NodeInference &node,
                                           std::optional<int64_t> (*combine)(int64_t,
                                                                              int64_t)) {
  std::optional<IntContents> lhs = node.getContents(0), rhs = node.getContents(1);
  if (!lhs || !rhs || node.getNumInputs() != 2)
    return std::nullopt;
  size_t size = std::max(lhs->size(), rhs->size());
  if ((lhs->size() != size && lhs->size() != 1) || (rhs->size() != size && rhs->size() != 1))
    return std::nullopt;
  IntContents result;
  for (size_t i = 0; i < size; ++i) {
    std::optional<int64_t> a = (*lhs)[lhs->size() == 1 ? 0 : i];
    std::optional<int64_t> b = (*rhs)[rhs->size() == 1 ? 0 : i];
    result.push_back(a && b ? combine(*a, *b) : std::nullopt);
  }
  return result;
}

/// Ops whose result has the broadcast shape of all inputs and the first input's element
/// type (or i1 for `predicate` ops).
void inferBroadcast(NodeInference &node, bool predicate) {
  Type element = predicate ? Builder(node.getNode().getContext()).getI1Type()
                           : node.getElementType(0);
  std::optional<SmallVector<int64_t>> shape = broadcastInputs(node, 0, node.getNumInputs());
  if (shape)
    node.setResult(0, element, *shape);
  else
    node.setUnrankedResult(0, element);
}

void inferArithmetic(NodeInference &node) {
  inferBroadcast(node, /*predicate=*/false);
  StringRef op = node.getNode().getOpType();
  std::optional<int64_t> (*combine)(int64_t, int64_t) = nullptr;
  if (op == "Add")
    combine = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a + b; };
  else if (op == "Sub")
    combine = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a - b; };
  else if (op == "Mul")
    combine = [](int64_t a, int64_t b) -> std::optional<int64_t> { return a * b; };
  else if (op == "Div")
    combine = [](int64_t a, int64_t b) -> std::optional<int64_t> {
      // ONNX's integer Div truncates, as C++ does.
      return b == 0 ? std::nullopt : std::optional<int64_t>(a / b);
    };
  Type element = node.getElementType(0);
  if (combine && element && element.isInteger())
    if (std::optional<IntContents> known = combineContents(node, combine))
      node.setContents(0, *known);
}

void inferPredicate(NodeInference &node) {
  inferBroadcast(node, /*predicate=*/true);
  if (node.getNode().getOpType() == "Equal")
    if (std::optional<IntContents> known =
            combineContents(node, [](int64_t a, int64_t b) -> std::optional<int64_t> {
              return a == b;
            }))
      node.setContents(0, *known);
}

/// Ops whose result is input 0's type (unary elementwise, and ops that keep the shape).
void inferSameAsInput(NodeInference &node) {
  node.setResultLikeInput(0, 0);
  if (std::optional<IntContents> known = node.getContents(0);
      known && node.getNode().getOpType() == "Identity")
    node.setContents(0, *known);
}

/// Unary ops with an i1 result of input 0's shape.
void inferUnaryPredicate(NodeInference &node) {
  Type i1 = Builder(node.getNode().getContext()).getI1Type();
  if (RankedTensorType input = node.getRanked(0))
    node.setResult(0, i1, input.getShape());
  else
    node.setUnrankedResult(0, i1);
}

void inferCast(NodeInference &node) {
  onnx::NodeOp op = node.getNode();
  Type element = op.getOpType() == "CastLike"
                     ? node.getElementType(1)
                     : onnx::getDataType(op.getContext(), op.getIntAttr("to", 0)).type;
  if (RankedTensorType input = node.getRanked(0))
    node.setResult(0, element, input.getShape());
  else
    node.setUnrankedResult(0, element);
  if (element && element.isInteger() && element.getIntOrFloatBitWidth() >= 32)
    if (std::optional<IntContents> known = node.getContents(0))
      node.setContents(0, *known);
}

/// BitCast: the input's shape, of the element type `to` names.
void inferBitCast(NodeInference &node) {
  onnx::NodeOp op = node.getNode();
  Type element = onnx::getDataType(op.getContext(), op.getIntAttr("to", 0)).type;
  if (RankedTensorType input = node.getRanked(0))
    node.setResult(0, element, input.getShape());
  else
    node.setUnrankedResult(0, element);
}

void inferWhere(NodeInference &node) {
  Type element = node.getElementType(1);
  std::optional<SmallVector<int64_t>> shape = broadcastInputs(node, 0, 3);
  if (shape)
    node.setResult(0, element, *shape);
  else
    node.setUnrankedResult(0, element);
  // torch's expand(-1, ...): Where(Equal(s, -1), ones, s) over known contents.
  std::optional<IntContents> condition = node.getContents(0), whenTrue = node.getContents(1),
                             whenFalse = node.getContents(2);
  if (!condition || !whenTrue || !whenFalse || condition->size() != whenTrue->size() ||
      condition->size() != whenFalse->size())
    return;
  IntContents known;
  for (size_t i = 0; i < condition->size(); ++i)
    known.push_back((*condition)[i] ? (*(*condition)[i] ? (*whenTrue)[i] : (*whenFalse)[i])
                                    : std::nullopt);
  node.setContents(0, known);
}

void inferDropout(NodeInference &node) {
  node.setResultLikeInput(0, 0);
  if (RankedTensorType input = node.getRanked(0))
    node.setResult(1, Builder(node.getNode().getContext()).getI1Type(), input.getShape());
}

void inferEyeLike(NodeInference &node) {
  onnx::NodeOp op = node.getNode();
  Type element = op.hasNodeAttr("dtype")
                     ? onnx::getDataType(op.getContext(), op.getIntAttr("dtype", 0)).type
                     : node.getElementType(0);
  if (RankedTensorType input = node.getRanked(0))
    node.setResult(0, element, input.getShape());
}

/// DequantizeLinear: the input's shape, in the scale's element type.
void inferDequantizeLinear(NodeInference &node) {
  Type element = node.getElementType(1);
  if (RankedTensorType input = node.getRanked(0))
    node.setResult(0, element, input.getShape());
  else
    node.setUnrankedResult(0, element);
}

} // namespace

void moec::infer::addElementwiseTypeRules(TypeRules &rules) {
  for (StringRef op : {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift", "Max", "Min",
                       "Sum", "Mean", "PRelu", "BitwiseAnd", "BitwiseOr", "BitwiseXor"})
    rules[op] = inferArithmetic;
  for (StringRef op : {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or",
                       "Xor"})
    rules[op] = inferPredicate;
  for (StringRef op :
       {"Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "BitwiseNot", "Ceil", "Celu",
        "Clip", "Cos", "Cosh", "CumProd", "CumSum", "Elu", "Erf", "Exp", "Floor", "Gelu",
        "HardSigmoid", "HardSwish", "Hardmax", "Identity", "LeakyRelu", "Log", "LogSoftmax",
        "LpNormalization", "Mish", "Neg", "Reciprocal", "Relu", "Round", "Selu", "Shrink",
        "Sigmoid", "Sign", "Sin", "Sinh", "Softmax", "Softplus", "Softsign", "Sqrt", "Tan",
        "Tanh", "ThresholdedRelu", "Trilu", "Swish", "SwiGLU"})
    rules[op] = inferSameAsInput;
  for (StringRef op : {"IsNaN", "IsInf", "Not"})
    rules[op] = inferUnaryPredicate;
  rules["Cast"] = inferCast;
  rules["CastLike"] = inferCast;
  rules["BitCast"] = inferBitCast;
  rules["Where"] = inferWhere;
  rules["Dropout"] = inferDropout;
  rules["EyeLike"] = inferEyeLike;
  rules["DequantizeLinear"] = inferDequantizeLinear;
}
