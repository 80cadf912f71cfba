//===- KernelsPTX.cpp - The PTX of a model's kernels ----------------------===//

#include "moec/Codegen/Emit/Emission.h"
#include "moec/Codegen/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

FailureOr<std::string> moec::getKernelsPTX(ModuleOp module) {
  auto binary = module.lookupSymbol<gpu::BinaryOp>(kKernelModuleName);
  if (!binary)
    return module.emitError() << "the model has no GPU kernels (no gpu.binary @"
                              << kKernelModuleName << ")";
  for (Attribute attr : binary.getObjects()) {
    auto object = cast<gpu::ObjectAttr>(attr);
    if (object.getFormat() == gpu::CompilationTarget::Assembly)
      return object.getObject().str();
  }
  return binary.emitError() << "holds no PTX";
}
