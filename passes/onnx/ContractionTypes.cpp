//===- ContractionTypes.cpp - Types of matrix products and Einsum ---------===//

#include "TypeInference.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

} // namespace

void moec::infer::inferMatMulResult(NodeInference &node, bool transposeLhs, bool transposeRhs) {
  Type element = node.getElementType(0);
  if (Type rhsElement = node.getElementType(1); element && rhsElement && element != rhsElement) {
    std::string text;
    llvm::raw_string_ostream os(text);
    os << "its two inputs must have one element type, not " << element << " and " << rhsElement;
    return node.fail(text);
  }
  RankedTensorType lhs = node.getRanked(0), rhs = node.getRanked(1);
  if (!lhs || !rhs || lhs.getRank() == 0 || rhs.getRank() == 0) {
    node.setUnrankedResult(0, element);
    return;
  }
  SmallVector<int64_t> a(lhs.getShape()), b(rhs.getShape());
  if (transposeLhs && a.size() >= 2)
    std::swap(a[a.size() - 1], a[a.size() - 2]);
  if (transposeRhs && b.size() >= 2)
    std::swap(b[b.size() - 1], b[b.size() - 2]);
  bool vectorLhs = a.size() == 1, vectorRhs = b.size() == 1;
  if (vectorLhs)
    a.insert(a.begin(), 1);
  if (vectorRhs)
    b.push_back(1);
  std::optional<SmallVector<int64_t>> batch =
      broadcastShapes(ArrayRef<int64_t>(a).drop_back(2), ArrayRef<int64_t>(b).drop_back(2));
  if (!batch)
    return;
  SmallVector<int64_t> dims = *batch;
  if (!vectorLhs)
    dims.push_back(a[a.size() - 2]);
  if (!vectorRhs)
    dims.push_back(b.back());
  node.setResult(0, element, dims);
}

namespace {

void inferGemm(NodeInference &node) {
  Type element = node.getElementType(0);
  RankedTensorType a = node.getRanked(0), b = node.getRanked(1);
  if (!a || !b || a.getRank() != 2 || b.getRank() != 2) {
    node.setUnrankedResult(0, element);
    return;
  }
  onnx::NodeOp op = node.getNode();
  int64_t m = a.getDimSize(op.getIntAttr("transA", 0) ? 1 : 0);
  int64_t n = b.getDimSize(op.getIntAttr("transB", 0) ? 0 : 1);
  node.setResult(0, element, {m, n});
}

/// Einsum: the output subscripts (explicit, or the implicit ones: letters used once, in
/// order), each dim from an input it labels; "..." stands for the broadcast leading dims.
void inferEinsum(NodeInference &node) {
  Type element = node.getElementType(0);
  std::string equation = node.getNode().getStringAttr("equation", "").str();
  llvm::erase(equation, ' ');
  StringRef inputsPart = equation, outputPart;
  bool explicitOutput = StringRef(equation).contains("->");
  if (explicitOutput)
    std::tie(inputsPart, outputPart) = StringRef(equation).split("->");
  SmallVector<StringRef> terms;
  inputsPart.split(terms, ',');
  if (terms.size() != node.getNumInputs()) {
    node.setUnrankedResult(0, element);
    return;
  }
  llvm::DenseMap<char, int64_t> sizes;
  llvm::DenseMap<char, unsigned> uses;
  SmallVector<int64_t> ellipsis;
  bool anyEllipsis = false;
  for (auto [index, term] : llvm::enumerate(terms)) {
    RankedTensorType type = node.getRanked(index);
    if (!type) {
      node.setUnrankedResult(0, element);
      return;
    }
    auto [before, after] = term.split("...");
    bool hasEllipsis = term.contains("...");
    int64_t named = before.size() + (hasEllipsis ? after.size() : 0);
    if (named > type.getRank() || (!hasEllipsis && named != type.getRank()))
      return;
    ArrayRef<int64_t> dims = type.getShape();
    auto label = [&](StringRef letters, ArrayRef<int64_t> letterDims) {
      for (auto [letter, dim] : llvm::zip(letters, letterDims)) {
        ++uses[letter];
        int64_t &size = sizes.try_emplace(letter, kDynamic).first->second;
        if (ShapedType::isDynamic(size) || size == 1)
          size = dim;
      }
    };
    label(before, dims.take_front(before.size()));
    if (hasEllipsis) {
      anyEllipsis = true;
      label(after, dims.take_back(after.size()));
      std::optional<SmallVector<int64_t>> broadcast = broadcastShapes(
          ellipsis, dims.slice(before.size(), type.getRank() - named));
      if (!broadcast)
        return;
      ellipsis = *broadcast;
    }
  }
  std::string output = outputPart.str();
  if (!explicitOutput) {
    output = anyEllipsis ? "..." : "";
    SmallVector<char> once;
    for (auto [letter, count] : uses)
      if (count == 1)
        once.push_back(letter);
    llvm::sort(once);
    output.append(once.begin(), once.end());
  }
  SmallVector<int64_t> dims;
  auto [before, after] = StringRef(output).split("...");
  for (char letter : before)
    dims.push_back(sizes.lookup(letter));
  if (StringRef(output).contains("...")) {
    llvm::append_range(dims, ellipsis);
    for (char letter : after)
      dims.push_back(sizes.lookup(letter));
  }
  for (char letter : output)
    if (letter != '.' && !sizes.count(letter))
      return;
  node.setResult(0, element, dims);
}

} // namespace

void moec::infer::addContractionTypeRules(TypeRules &rules) {
  rules["MatMul"] = [](NodeInference &node) { inferMatMulResult(node, false, false); };
  rules["Gemm"] = inferGemm;
  rules["Einsum"] = inferEinsum;
}
