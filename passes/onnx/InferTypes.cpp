//===- InferTypes.cpp - moec's own type and shape inference ---------------===//
//
// Refines the result type of every onnx.node from its inputs (TypeInference.h, GraphTypes.cpp),
// subgraphs included. An inferred type that contradicts the declared one is an error on the
// node. Graph outputs keep their declared types, with a tensor.cast where the inferred one is
// more precise.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/ONNX/Passes.h"

#include "TypeInference.h"
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

class InferTypesPass : public moec::impl::InferTypesBase<InferTypesPass> {
public:
  void runOnOperation() override {
    DenseMap<Value, IntContents> contents;
    if (failed(inferGraphTypes(getOperation(), getTypeRules(), contents)))
      return signalPassFailure();
    getOperation().walk([&](func::FuncOp function) { keepDeclaredResultTypes(function); });
  }

private:
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
