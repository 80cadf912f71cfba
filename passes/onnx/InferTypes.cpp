//===- InferTypes.cpp - moec's own type and shape inference ---------------===//
//
// Refines the result type of every onnx.node from its inputs (TypeInference.h), sweeping the
// graph, subgraphs included, until nothing changes. Types only grow more precise: a
// `!onnx.any` or unranked result becomes ranked, dynamic dims become static. An inferred
// type that contradicts the declared one is an error on the node. Graph outputs keep their
// declared types, with a tensor.cast where the inferred one is more precise.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "TypeInference.h"
#include "moec/Dialect/ONNX/ConstantValues.h"
#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"

namespace moec {
#define GEN_PASS_DEF_INFERTYPES
#include "passes/onnx/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::infer;

namespace {

/// The more precise of `declared` and `inferred`, or failure when they contradict.
FailureOr<Type> refineType(Type declared, Type inferred) {
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

class InferTypesPass : public moec::impl::InferTypesBase<InferTypesPass> {
public:
  void runOnOperation() override {
    TypeRules rules;
    addElementwiseTypeRules(rules);
    addShapeTypeRules(rules);
    addIndexingTypeRules(rules);
    addReductionTypeRules(rules);
    addContractionTypeRules(rules);
    addContribTypeRules(rules);

    DenseMap<Value, IntContents> contents;
    getOperation().walk([&](onnx::ConstantOp constant) {
      if (std::optional<SmallVector<int64_t>> values =
              onnx::getIntValues(constant.getValue(), kMaxTrackedElements)) {
        IntContents known(values->begin(), values->end());
        contents[constant.getResult()] = std::move(known);
      }
    });

    // Graphs are topologically sorted, so one sweep settles all but what flows out of
    // subgraphs into their node's results, which the next sweep takes.
    for (unsigned sweep = 0; sweep < maxSweeps; ++sweep) {
      bool changed = false;
      WalkResult result = getOperation().walk<WalkOrder::PreOrder>([&](onnx::NodeOp node) {
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
                             << ", but its inputs make it "
                             << inference.getResultTypes()[index];
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
        return signalPassFailure();
      if (!changed)
        break;
    }
    getOperation().walk([&](func::FuncOp function) { keepDeclaredResultTypes(function); });
  }

private:
  static constexpr unsigned maxSweeps = 8;

  /// The function's results keep the graph's declared output types: a more precise value
  /// goes through a tensor.cast, and a declaration without a rank takes the inferred type.
  static void keepDeclaredResultTypes(func::FuncOp function) {
    if (function.isExternal())
      return;
    SmallVector<Type> resultTypes(function.getResultTypes());
    bool signatureChanged = false;
    function.walk([&](func::ReturnOp ret) {
      OpBuilder builder(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Type declared = resultTypes[operand.getOperandNumber()];
        Type computed = operand.get().getType();
        if (declared == computed || !isa<TensorType>(computed))
          continue;
        auto declaredTensor = dyn_cast<TensorType>(declared);
        if (isa<onnx::AnyType>(declared) || (declaredTensor && !declaredTensor.hasRank())) {
          resultTypes[operand.getOperandNumber()] = computed;
          signatureChanged = true;
        } else if (tensor::CastOp::areCastCompatible(computed, declared)) {
          operand.set(tensor::CastOp::create(builder, ret.getLoc(), declared, operand.get()));
        }
      }
    });
    if (signatureChanged)
      function.setFunctionType(
          FunctionType::get(function.getContext(), function.getArgumentTypes(), resultTypes));
  }
};

} // namespace
