// REQUIRES: libdevice
// RUN: moe-opt %moec_src/examples/embedding/moe_and_linalg.mlir --moe-lower-to-nvvm="chip=sm_90a libdevice=%libdevice" | FileCheck %s
// RUN: moe-opt %moec_src/examples/embedding/moe_and_linalg.mlir --moe-lower-to-nvvm="chip=sm_90a libdevice=%libdevice bf16-expert-matmuls=true" | FileCheck %s --check-prefix=BF16
// A module of moe and linalg ops, no ONNX, lowered for a Hopper GPU: the kernels as PTX for
// sm_90a in one gpu.binary, the host side launching them, the runtime's entry point.

// CHECK-DAG: llvm.mlir.global {{.*}} @moec_model_info("target sm_90a\0A
// CHECK-DAG: gpu.binary @moec_kernels
// CHECK-DAG: .target sm_90a
// CHECK-DAG: gpu.launch_func
// CHECK-DAG: llvm.func @moec_model_run(

// bf16-expert-matmuls: the expert weights are bf16 (too small here for the tensor-core
// kernels).
// BF16: llvm.mlir.global {{.*}} : !llvm.array<2 x array<4 x array<8 x bf16>>>
