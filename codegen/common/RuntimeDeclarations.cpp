//===- RuntimeDeclarations.cpp - Declaring the runtime functions compiled code calls ===//

#include "RuntimeDeclarations.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

void moec::declareCalledRuntimeFunctions(ModuleOp module,
                                         function_ref<bool(StringRef)> isRuntimeFunction) {
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  module.walk([&](func::CallOp call) {
    if (!isRuntimeFunction(call.getCallee()) || module.lookupSymbol(call.getCallee()))
      return;
    auto declaration =
        func::FuncOp::create(builder, module.getLoc(), call.getCallee(), call.getCalleeType());
    declaration.setPrivate();
  });
}
