//===- GpuLaunchMemoryEffects.cpp - Memory effects of kernel launches -----===//
//
// `gpu.launch_func` implements no MemoryEffectOpInterface in LLVM 22, so the
// ownership-based buffer deallocation stops at a launch whose operands are buffers ("ops
// with unknown memory side effects are not supported"): the tensor-core grouped matmul
// launches its kernels before bufferization (moec-lower-grouped-matmul-to-mma). Declaring
// what a launch may do lets the deallocation place its frees after the launch, as it does
// after a call. Likewise `nvgpu.tma.create.descriptor`, which the sm_90a grouped matmul
// builds on the host (its launch names the buffers too, so they live until it).
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/GPU/GpuLaunchMemoryEffects.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace {
/// A kernel reads and writes the buffers it is given; it may also reach memory through
/// other arguments (pointers, globals), so the launch writes the default resource too,
/// which keeps it from being moved or erased as if it had no effect.
struct LaunchFuncMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<LaunchFuncMemoryEffects, gpu::LaunchFuncOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) const {
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<BaseMemRefType>(operand.get().getType()))
        continue;
      effects.emplace_back(MemoryEffects::Read::get(), &operand);
      effects.emplace_back(MemoryEffects::Write::get(), &operand);
    }
    effects.emplace_back(MemoryEffects::Read::get());
    effects.emplace_back(MemoryEffects::Write::get());
  }
};

/// Encoding a tensor map reads the buffer's address and shape, not its contents; a read
/// of the buffer is the closest effect the deallocation understands.
struct TmaCreateDescriptorMemoryEffects
    : MemoryEffectOpInterface::ExternalModel<TmaCreateDescriptorMemoryEffects,
                                             nvgpu::TmaCreateDescriptorOp> {
  void
  getEffects(Operation *op,
             SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) const {
    effects.emplace_back(MemoryEffects::Read::get(),
                         &cast<nvgpu::TmaCreateDescriptorOp>(op).getTensorMutable());
  }
};
} // namespace

void moec::registerGpuLaunchMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, gpu::GPUDialect *) {
    gpu::LaunchFuncOp::attachInterface<LaunchFuncMemoryEffects>(*context);
  });
  registry.addExtension(+[](MLIRContext *context, nvgpu::NVGPUDialect *) {
    nvgpu::TmaCreateDescriptorOp::attachInterface<TmaCreateDescriptorMemoryEffects>(*context);
  });
}
