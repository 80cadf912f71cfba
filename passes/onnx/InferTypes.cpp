//===- InferTypes.cpp - moec's own type and shape inference ---------------===//
//
// Refines the result type of every onnx.node from its inputs (TypeInference.h, GraphTypes.cpp),
// subgraphs included. An inferred type that contradicts the declared one is an error on the
// node. Graph outputs keep their declared types, with a tensor.cast where the inferred one is
// more precise and a checked moe.refine_shape where the declared one is.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "TypeInference.h"
#include "moec/Dialect/MoE/MoE.h"
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

/// The dims of `declared` that `inferred` leaves dynamic, made dynamic: what the value is
/// known to be without trusting the declaration. Null when the declaration adds nothing.
static RankedTensorType withoutDeclaredDims(Type declared, Type inferred) {
  auto declaredTensor = dyn_cast<RankedTensorType>(declared);
  auto inferredTensor = dyn_cast_if_present<RankedTensorType>(inferred);
  if (!declaredTensor || !inferredTensor || declaredTensor.getRank() != inferredTensor.getRank())
    return nullptr;
  SmallVector<int64_t> dims(declaredTensor.getShape());
  bool added = false;
  for (auto [dim, known] : llvm::zip(dims, inferredTensor.getShape()))
    if (!ShapedType::isDynamic(dim) && ShapedType::isDynamic(known)) {
      dim = ShapedType::kDynamic;
      added = true;
    }
  return added ? declaredTensor.clone(dims) : nullptr;
}

/// `computed` with the static dims of `declared` where its own are dynamic (two ranked
/// tensor types that cast to each other), or `computed` when a type has no rank.
static Type joinDims(Type computed, Type declared) {
  auto computedTensor = dyn_cast<RankedTensorType>(computed);
  auto declaredTensor = dyn_cast<RankedTensorType>(declared);
  if (!computedTensor || !declaredTensor)
    return computed;
  SmallVector<int64_t> dims(computedTensor.getShape());
  for (auto [dim, stated] : llvm::zip(dims, declaredTensor.getShape()))
    if (ShapedType::isDynamic(dim))
      dim = stated;
  return computedTensor.clone(dims);
}

/// "node 'NAME' (OP_TYPE): output N", how a refined node result is named at run time.
static std::string describeResult(onnx::NodeOp node, unsigned index) {
  StringRef name = node.getName();
  return ("node '" + (name.empty() ? StringRef("<unnamed>") : name) + "' (" +
          node.getOpType() + "): output " + Twine(index))
      .str();
}

class InferTypesPass : public moec::impl::InferTypesBase<InferTypesPass> {
public:
  using InferTypesBase::InferTypesBase;

  void runOnOperation() override {
    DenseMap<Value, IntContents> contents;
    TypeRules rules = getTypeRules();
    if (failed(inferGraphTypes(getOperation(), rules, contents)))
      return signalPassFailure();
    if (checkDeclaredDims)
      getOperation().walk(
          [&](onnx::NodeOp node) { refineDeclaredDims(node, rules, contents); });
    getOperation().walk([&](func::FuncOp function) { keepDeclaredResultTypes(function); });
  }

private:
  /// Gives each result of `node` whose declared dims are more static than its inputs make
  /// them the inferred type, and its users the declared one through a moe.refine_shape.
  static void refineDeclaredDims(onnx::NodeOp node, const TypeRules &rules,
                                 const DenseMap<Value, IntContents> &contents) {
    auto rule = rules.find(getRuleKey(node.getDomain(), node.getOpType()));
    if (rule == rules.end())
      return;
    NodeInference inference(node, contents);
    rule->second(inference);
    if (inference.getError())
      return;
    OpBuilder builder(node->getContext());
    builder.setInsertionPointAfter(node);
    for (auto [index, result] : llvm::enumerate(node.getResults())) {
      Type declared = result.getType();
      RankedTensorType known = withoutDeclaredDims(declared, inference.getResultTypes()[index]);
      if (!known)
        continue;
      result.setType(known);
      auto refined = moe::RefineShapeOp::create(builder, node.getLoc(), declared, result,
                                                describeResult(node, index));
      result.replaceAllUsesExcept(refined, refined);
    }
  }

  /// The function's results keep the graph's declared output types: a more precise value
  /// goes through a tensor.cast, a less precise one through a moe.refine_shape, and a
  /// declaration without a rank takes the inferred type.
  static void keepDeclaredResultTypes(func::FuncOp function) {
    if (function.isExternal())
      return;
    SmallVector<Type> resultTypes(function.getResultTypes());
    bool signatureChanged = false;
    function.walk([&](func::ReturnOp ret) {
      OpBuilder builder(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        unsigned index = operand.getOperandNumber();
        Type declared = resultTypes[index];
        Type computed = operand.get().getType();
        if (declared == computed || !isa<TensorType>(computed))
          continue;
        auto declaredTensor = dyn_cast<TensorType>(declared);
        if (isa<onnx::AnyType>(declared) || (declaredTensor && !declaredTensor.hasRank())) {
          resultTypes[index] = computed;
          signatureChanged = true;
        } else if (tensor::CastOp::areCastCompatible(computed, declared)) {
          Type joined = joinDims(computed, declared);
          if (joined != computed) {
            auto name = function.getResultAttrOfType<StringAttr>(index, "onnx.name");
            std::string what =
                "output '" + (name ? name.str() : std::to_string(index)) + "'";
            operand.set(moe::RefineShapeOp::create(builder, ret.getLoc(), joined,
                                                   operand.get(), what));
          }
          if (joined != declared)
            operand.set(
                tensor::CastOp::create(builder, ret.getLoc(), declared, operand.get()));
        }
      }
    });
    if (signatureChanged)
      function.setFunctionType(
          FunctionType::get(function.getContext(), function.getArgumentTypes(), resultTypes));
  }
};

} // namespace
