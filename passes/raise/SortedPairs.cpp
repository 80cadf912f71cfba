//===- SortedPairs.cpp - The (token, slot) pairs sorted by expert ---------===//

#include "SortedPairs.h"

#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace moec;
using namespace moec::raise;

/// Whether `value` is a 0-D boolean constant that holds true.
static bool isTrueConstant(Value value) {
  auto constant = value.getDefiningOp<onnx::ConstantOp>();
  auto type = constant ? llvm::dyn_cast<RankedTensorType>(constant.getType()) : nullptr;
  if (!type || type.getNumElements() != 1 || !type.getElementType().isInteger(1))
    return false;
  if (auto dense = llvm::dyn_cast<DenseElementsAttr>(constant.getValue()))
    return dense.getSplatValue<bool>();
  auto resource = llvm::dyn_cast<DenseResourceElementsAttr>(constant.getValue());
  AsmResourceBlob *blob = resource ? resource.getRawHandle().getBlob() : nullptr;
  // ONNX stores a bool in one byte.
  return blob && blob->getData().size() == 1 && blob->getData()[0] != 0;
}

std::optional<SortedPairs> moec::raise::matchSortedPairs(Value pairOfRow, bool anyK) {
  onnx::NodeOp sort = getDefiningNode(pairOfRow, "TopK");
  if (!sort || sort->getResult(1) != pairOfRow || sort.getIntAttr("largest", 1) != 0 ||
      sort.getIntAttr("sorted", 1) != 1)
    return std::nullopt;
  Value flat = sort.getInputs()[0];
  RankedTensorType flatType = getRanked(flat);
  int64_t axis = sort.getIntAttr("axis", -1);
  if (!flatType || flatType.getRank() != 1 || (axis != -1 && axis != 0) ||
      (!anyK && !isShapeOf(sort.getInputs()[1], flat)))
    return std::nullopt;
  Value ids = skipReshapes(flat);
  onnx::NodeOp routerChoice = getExpertChoice(ids);
  RankedTensorType idsType = getRanked(ids);
  if (!routerChoice || !idsType || idsType.getRank() != 2 || idsType.isDynamicDim(1))
    return std::nullopt;
  return SortedPairs{routerChoice, ids, sort->getResult(0), pairOfRow, idsType.getDimSize(1)};
}

/// Whether `value` is `Cast(Floor(Abs(q)) * Sign(q))` to an integer, `q = Cast(pairOfRow)
/// / k` in f32 or f64: torch.export's `div(p, k, rounding_mode = "trunc")`. The f32 quotient
/// of pairs below 2^24 never rounds up to the next integer (its distance to it, at least
/// 1 / k, exceeds half an ulp), so this is `pairOfRow // k` for every model that fits that.
static bool isTruncatingDivision(Value value, const SortedPairs &pairs) {
  onnx::NodeOp toInt = getDefiningNode(value, "Cast");
  onnx::NodeOp mul = toInt ? getDefiningNode(toInt.getInputs()[0], "Mul") : onnx::NodeOp();
  if (!mul || !getElementTypeOrSelf(value.getType()).isInteger())
    return false;
  Value quotient;
  std::optional<unsigned> floorIndex = matchEitherInput(mul, [&](Value input) {
    onnx::NodeOp floor = getDefiningNode(input, "Floor");
    onnx::NodeOp abs = floor ? getDefiningNode(floor.getInputs()[0], "Abs") : onnx::NodeOp();
    return abs && (quotient = abs.getInputs()[0], true);
  });
  onnx::NodeOp sign =
      floorIndex ? getDefiningNode(mul.getInputs()[1 - *floorIndex], "Sign") : onnx::NodeOp();
  onnx::NodeOp div =
      sign && sign.getInputs()[0] == quotient ? getDefiningNode(quotient, "Div") : onnx::NodeOp();
  onnx::NodeOp toFloat = div ? getDefiningNode(div.getInputs()[0], "Cast") : onnx::NodeOp();
  Type floatType = getElementTypeOrSelf(quotient ? quotient.getType() : Type());
  return toFloat && toFloat.getInputs()[0] == pairs.pairOfRow &&
         (floatType.isF32() || floatType.isF64()) &&
         isScalarConstant(div.getInputs()[1], double(pairs.k));
}

bool moec::raise::isTokenOfRow(Value value, const SortedPairs &pairs) {
  auto isDivByK = [&](Value quotient) {
    onnx::NodeOp div = getDefiningNode(quotient, "Div");
    return div && div.getInputs()[0] == pairs.pairOfRow &&
           isScalarConstant(div.getInputs()[1], double(pairs.k));
  };
  if (isDivByK(value) || isTruncatingDivision(value, pairs))
    return true;
  onnx::NodeOp sub = getDefiningNode(value, "Sub");
  if (!sub || !isDivByK(sub.getInputs()[0]))
    return false;
  onnx::NodeOp cast = getDefiningNode(sub.getInputs()[1], "Cast");
  onnx::NodeOp both = cast ? getDefiningNode(cast.getInputs()[0], "And") : nullptr;
  auto isNegative = [&](Value test) {
    if (onnx::NodeOp equal = getDefiningNode(test, "Equal"))
      if (isTrueConstant(equal.getInputs()[1]))
        test = equal.getInputs()[0];
    onnx::NodeOp less = getDefiningNode(test, "Less");
    return less && less.getInputs()[0] == pairs.pairOfRow &&
           isScalarConstant(less.getInputs()[1], 0.0);
  };
  return matchEitherInput(both, isNegative).has_value();
}
