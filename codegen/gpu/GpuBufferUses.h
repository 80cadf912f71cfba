//===- GpuBufferUses.h - How host code and kernels use a buffer -*- C++ -*-===//
//
// The GPU memory passes (moec-place-buffers-on-device, moec-copy-constants-to-gpu,
// moec-order-gpu-work-on-stream) look at buffers through their views: a subview, reshape or
// the base buffer of memref.extract_strided_metadata is the same memory. After kernel
// outlining, kernels touch only the buffers that `gpu.launch_func` passes them (directly or
// through a TMA tensor map), and the stream-ordered ops (gpu.memcpy, gpu.memset) are the
// only other GPU-side accesses.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_GPUBUFFERUSES_H
#define MOEC_CODEGEN_GPUBUFFERUSES_H

#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

namespace moec {

/// The view of its operand that `use`'s owner makes (its result), or null when the owner
/// makes no view of that operand.
mlir::Value viewMadeBy(mlir::OpOperand &use);

/// The buffer that `value` is a view of, through any chain of views; `value` itself when it
/// is no view.
mlir::Value viewedBuffer(mlir::Value value);

/// The buffers `value` may be a view of: its viewed buffer, or, for a result of an scf.if
/// (a choice between kernels made at run time, e.g. moec-lower-grouped-matmul-to-gemv's),
/// those that each branch yields, recursively.
llvm::SmallVector<mlir::Value> possibleBuffers(mlir::Value value);

/// Whether `op` hands the buffers it is given to kernels: a launch, or a TMA tensor map
/// (nvgpu.tma.create.descriptor, sm_90a), which holds a buffer's address for the kernel it
/// is passed to and reads none of its elements on the host.
bool passesBuffersToKernels(mlir::Operation *op);

/// Whether `use` hands its buffer to GPU work: a kernel (passesBuffersToKernels) or a copy
/// or fill on the stream.
bool isGpuUse(mlir::OpOperand &use);

/// Whether `buffer`, through its views, is handed to GPU work.
bool hasGpuUse(mlir::Value buffer);

} // namespace moec

#endif // MOEC_CODEGEN_GPUBUFFERUSES_H
