//===- InitMoEC.cpp - Register moec's dialects, passes and pipelines ------===//

#include "moec/InitMoEC.h"

#include "moec/Codegen/Common/Passes.h"
#include "moec/Codegen/GPU/GpuLaunchMemoryEffects.h"
#include "moec/Codegen/GPU/Passes.h"
#include "moec/Codegen/Host/Passes.h"
#include "moec/Compiler/Pipeline.h"
#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ONNX.h"
#include "moec/Passes/Decompose/Passes.h"
#include "moec/Passes/Legalize/Passes.h"
#include "moec/Passes/Optimize/Fusion/Passes.h"
#include "moec/Passes/ONNX/Passes.h"
#include "moec/Passes/Optimize/Quantize/Passes.h"
#include "moec/Passes/Raise/Passes.h"
#include "moec/Passes/Shard/Passes.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

void moec::registerMoECDialects(DialectRegistry &registry) {
  registry.insert<moe::MoEDialect, onnx::ONNXDialect>();
  // The GPU pipeline deallocates buffers around kernel launches.
  registerGpuLaunchMemoryEffects(registry);
}

void moec::registerMoECPasses() {
  registerMoECONNXPasses();
  registerMoECRaisePasses();
  registerMoECLegalizePasses();
  registerMoECQuantizePasses();
  registerMoECFusionPasses();
  registerMoECDecomposePasses();
  registerMoECShardPasses();
  registerMoECCodegenCommonPasses();
  registerMoECCodegenHostPasses();
  registerMoECCodegenGPUPasses();
  registerMoECPipelines();
}
