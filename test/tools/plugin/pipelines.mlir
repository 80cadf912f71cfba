// RUN: %preload_sanitizer_runtime mlir-opt %moec_src/examples/embedding/moe_and_linalg.mlir \
// RUN:   --load-dialect-plugin=%moec_libs/libMoECPlugin.so \
// RUN:   --load-pass-plugin=%moec_libs/libMoECPlugin.so \
// RUN:   --pass-pipeline="builtin.module(moe-optimize, moe-lower-to-host)" | FileCheck %s
// Upstream mlir-opt runs moec's named pipelines from the plugin: a module of moe and linalg
// ops, no ONNX, lowered for the host (the router fused into the route).

// CHECK-DAG: llvm.mlir.global {{.*}} @moec_model_info("target host\0A
// CHECK-DAG: llvm.func @moec_model_run(
// CHECK-DAG: llvm.call @moec_rt_moe_route_tokens_f32(
// The linalg softmax's exp is moec-approximate-math-functions' polynomial, not a libm call.
// CHECK-DAG: llvm.intr.fma
// CHECK-NOT: llvm.intr.exp(
// CHECK-NOT: moe.
