//===- GpuBufferUses.cpp - How host code and kernels use a buffer ---------===//

#include "GpuBufferUses.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

Value moec::viewMadeBy(OpOperand &use) {
  Operation *user = use.getOwner();
  if (auto metadata = dyn_cast<memref::ExtractStridedMetadataOp>(user))
    return metadata.getBaseBuffer();
  if (auto view = dyn_cast<ViewLikeOpInterface>(user); view && view.getViewSource() == use.get())
    return view.getViewDest();
  return {};
}

Value moec::viewedBuffer(Value value) {
  while (Operation *definition = value.getDefiningOp()) {
    if (auto metadata = dyn_cast<memref::ExtractStridedMetadataOp>(definition);
        metadata && metadata.getBaseBuffer() == value) {
      value = metadata.getSource();
      continue;
    }
    if (auto view = dyn_cast<ViewLikeOpInterface>(definition); view && view.getViewDest() == value) {
      value = view.getViewSource();
      continue;
    }
    break;
  }
  return value;
}

bool moec::passesBuffersToKernels(Operation *op) {
  return isa<gpu::LaunchFuncOp, nvgpu::TmaCreateDescriptorOp>(op);
}

bool moec::isGpuUse(OpOperand &use) {
  return passesBuffersToKernels(use.getOwner()) ||
         isa<gpu::MemcpyOp, gpu::MemsetOp>(use.getOwner());
}

bool moec::hasGpuUse(Value buffer) {
  return llvm::any_of(buffer.getUses(), [](OpOperand &use) {
    if (isGpuUse(use))
      return true;
    Value view = viewMadeBy(use);
    return view && hasGpuUse(view);
  });
}

SmallVector<Value> moec::possibleBuffers(Value value) {
  Value buffer = viewedBuffer(value);
  auto choice = buffer.getDefiningOp<scf::IfOp>();
  if (!choice)
    return {buffer};
  unsigned index = cast<OpResult>(buffer).getResultNumber();
  SmallVector<Value> buffers;
  for (scf::YieldOp yield : {choice.thenYield(), choice.elseYield()})
    llvm::append_range(buffers, possibleBuffers(yield.getOperand(index)));
  return buffers;
}
