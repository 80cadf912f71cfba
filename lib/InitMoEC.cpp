//===- InitMoEC.cpp - Register moec's dialects and passes -----------------===//

#include "moec/InitMoEC.h"

#include "moec/Codegen/GpuLaunchMemoryEffects.h"
#include "moec/Codegen/Passes.h"
#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ONNX.h"
#include "moec/Passes.h"

#include "mlir/IR/DialectRegistry.h"

void moec::registerMoECDialects(mlir::DialectRegistry &registry) {
  registry.insert<moe::MoEDialect, onnx::ONNXDialect>();
  // The GPU pipeline deallocates buffers around kernel launches.
  registerGpuLaunchMemoryEffects(registry);
}

void moec::registerMoECPasses() {
  registerMoECTransformsPasses();
  registerCodegenPasses();
}
