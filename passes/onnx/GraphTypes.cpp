//===- GraphTypes.cpp - Result types of a whole graph, to a fixpoint ------===//
//
// Types only grow more precise: a `!onnx.any` or unranked result becomes ranked, dynamic
// dims become static. Graphs are topologically sorted, so one sweep settles all but what
// flows out of subgraphs into their node's results, which the next sweep takes.
//
//===----------------------------------------------------------------------===//

#include "TypeInference.h"

#include "moec/Dialect/ONNX/ConstantValues.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace moec;
using namespace moec::infer;

/// The more precise of `declared` and `inferred`, or failure when they contradict.
static FailureOr<Type> refineType(Type declared, Type inferred) {
  if (!inferred || declared == inferred)
    return declared;
  if (isa<onnx::AnyType>(declared))
    return inferred;
  auto old = dyn_cast<TensorType>(declared);
  auto found = dyn_cast<TensorType>(inferred);
  if (!old || !found)
    return declared;
  if (old.getElementType() != found.getElementType())
    return failure();
  if (!found.hasRank())
    return declared;
  if (!old.hasRank())
    return inferred;
  if (old.getRank() != found.getRank())
    return failure();
  SmallVector<int64_t> dims;
  for (auto [a, b] : llvm::zip(old.getShape(), found.getShape())) {
    if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b)
      return failure();
    dims.push_back(ShapedType::isDynamic(a) ? b : a);
  }
  return Type(RankedTensorType::get(dims, old.getElementType()));
}

TypeRules moec::infer::getTypeRules() {
  TypeRules rules;
  addElementwiseTypeRules(rules);
  addShapeTypeRules(rules);
  addIndexingTypeRules(rules);
  addReductionTypeRules(rules);
  addContractionTypeRules(rules);
  addContribTypeRules(rules);
  addAttentionTypeRules(rules);
  return rules;
}

LogicalResult moec::infer::inferGraphTypes(Operation *root, const TypeRules &rules,
                                           DenseMap<Value, IntContents> &contents) {
  constexpr unsigned maxSweeps = 8;
  root->walk([&](onnx::ConstantOp constant) {
    if (std::optional<SmallVector<int64_t>> values =
            onnx::getIntValues(constant.getValue(), kMaxTrackedElements))
      contents[constant.getResult()] = IntContents(values->begin(), values->end());
  });
  for (unsigned sweep = 0; sweep < maxSweeps; ++sweep) {
    bool changed = false;
    WalkResult result = root->walk<WalkOrder::PreOrder>([&](onnx::NodeOp node) {
      auto rule = rules.find(getRuleKey(node.getDomain(), node.getOpType()));
      if (rule == rules.end())
        return WalkResult::advance();
      NodeInference inference(node, contents);
      rule->second(inference);
      StringRef name = node.getName();
      auto nodeError = [&] {
        return node.emitError() << "node '" << (name.empty() ? StringRef("<unnamed>") : name)
                                << "' (" << node.getOpType() << "): ";
      };
      if (inference.getError()) {
        nodeError() << *inference.getError();
        return WalkResult::interrupt();
      }
      for (auto [index, result] : llvm::enumerate(node.getResults())) {
        FailureOr<Type> refined = refineType(result.getType(), inference.getResultTypes()[index]);
        if (failed(refined)) {
          nodeError() << "output " << index << " is declared as " << result.getType()
                      << ", but its inputs make it " << inference.getResultTypes()[index];
          return WalkResult::interrupt();
        }
        if (*refined != result.getType()) {
          result.setType(*refined);
          changed = true;
        }
        const std::optional<IntContents> &known = inference.getResultContents()[index];
        if (known && contents.lookup(result) != *known) {
          contents[result] = *known;
          changed = true;
        }
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return failure();
    if (!changed)
      break;
  }
  return success();
}
