//===- InitMoEC.cpp - Register moec's dialects, passes and pipelines ------===//

#include "moec/InitMoEC.h"

#include "moec/Codegen/Common/Passes.h"
#include "moec/Codegen/GPU/CudaTarget.h"
#include "moec/Codegen/GPU/GpuLaunchMemoryEffects.h"
#include "moec/Codegen/GPU/Passes.h"
#include "moec/Codegen/Host/Passes.h"
#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ONNX.h"
#include "moec/Passes/Decompose/Passes.h"
#include "moec/Passes/Legalize/Passes.h"
#include "moec/Passes/ONNX/Passes.h"
#include "moec/Passes/Raise/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void moec::registerMoECDialects(DialectRegistry &registry) {
  registry.insert<moe::MoEDialect, onnx::ONNXDialect>();
  // The GPU pipeline deallocates buffers around kernel launches.
  registerGpuLaunchMemoryEffects(registry);
}

namespace {
struct GpuLoweringPipelineOptions : PassPipelineOptions<GpuLoweringPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("CUDA chip: sm_80, sm_89, sm_90, sm_90a"),
                           llvm::cl::init("sm_80")};
  Option<std::string> libdevice{
      *this, "libdevice",
      llvm::cl::desc("libdevice to link into the kernels (default: the CUDA toolkit's)")};
  Option<std::string> assemblerToolkit{
      *this, "assembler-toolkit",
      llvm::cl::desc("CUDA toolkit whose ptxas and fatbinary make the kernels a fatbin of "
                     "cubin and PTX (default: none, the kernels stay PTX)")};
};
} // namespace

/// The code generation pipelines by name, for textual pipelines and `-opt` tools.
static void registerCodegenPipelines() {
  PassPipelineRegistration<>(
      "moec-host-lowering",
      "Lower a model at the tensor level to the LLVM dialect for the host, with the "
      "runtime's entry point",
      [](OpPassManager &pm) { moec::buildHostLoweringPipeline(pm, moec::HostLoweringOptions()); });
  PassPipelineRegistration<GpuLoweringPipelineOptions>(
      "moec-gpu-lowering",
      "Lower a model at the tensor level to the LLVM dialect with its kernels as PTX for a "
      "CUDA GPU, with the runtime's entry point",
      [](OpPassManager &pm, const GpuLoweringPipelineOptions &pipelineOptions) {
        moec::GpuLoweringOptions options;
        options.chip = pipelineOptions.chip;
        options.libdevicePath = pipelineOptions.libdevice;
        options.assemblerToolkitPath = pipelineOptions.assemblerToolkit;
        std::string searched;
        if (options.libdevicePath.empty())
          options.libdevicePath = moec::findLibdevice(searched).value_or("");
        moec::buildGpuLoweringPipeline(pm, options);
      });
}

void moec::registerMoECPasses() {
  registerMoECONNXPasses();
  registerMoECRaisePasses();
  registerMoECLegalizePasses();
  registerMoECDecomposePasses();
  registerMoECCodegenCommonPasses();
  registerMoECCodegenHostPasses();
  registerMoECCodegenGPUPasses();
  registerCodegenPipelines();
}
