// REQUIRES: libdevice
// RUN: %preload_sanitizer_runtime mlir-opt %moec_src/examples/embedding/moe_and_linalg.mlir \
// RUN:   --load-dialect-plugin=%moec_libs/libMoECPlugin.so \
// RUN:   --load-pass-plugin=%moec_libs/libMoECPlugin.so \
// RUN:   --pass-pipeline="builtin.module(moe-lower-to-nvvm{chip=sm_90a libdevice=%libdevice})" \
// RUN:   | FileCheck %s
// Upstream mlir-opt lowers a module of moe and linalg ops for a Hopper GPU through the
// plugin's moe-lower-to-nvvm: kernels as sm_90a PTX, launched from the host side.

// CHECK-DAG: gpu.binary @moec_kernels
// CHECK-DAG: .target sm_90a
// CHECK-DAG: gpu.launch_func
// CHECK-DAG: llvm.func @moec_model_run(
