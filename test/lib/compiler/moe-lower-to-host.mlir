// RUN: moe-opt %moec_src/examples/embedding/moe_and_linalg.mlir --moe-optimize --moe-lower-to-host | FileCheck %s
// RUN: moe-opt %moec_src/examples/embedding/moe_and_linalg.mlir --moe-lower-to-host=disable-passes=moec-lower-moe-kernels-to-runtime | FileCheck %s --check-prefix=LOOPS
// RUN: moe-opt %moec_src/examples/embedding/moe_and_linalg.mlir --moe-lower-to-host=disable-passes=moec-approximate-math-functions | FileCheck %s --check-prefix=LIBM
// A module of moe and linalg ops, no ONNX, lowered for the host: the runtime's entry point
// and model description, the layer on the runtime's kernels (its router fused into the
// route), the linalg exp as a polynomial (fused multiply-adds, no libm call). With the
// runtime kernels' pass disabled, the moe ops run as loops instead; with the approximation
// disabled, exp is the LLVM intrinsic, which becomes a call to libm.

// CHECK-DAG: llvm.mlir.global {{.*}} @moec_model_info("target host\0Ainput input_0 float32 ?,4\0Aoutput output_0 float32 ?,4\0A
// CHECK-DAG: llvm.func @moec_model_run(
// CHECK-DAG: llvm.call @moec_rt_moe_route_tokens_f32(
// CHECK-DAG: llvm.intr.fma
// CHECK-NOT: llvm.intr.exp(
// CHECK-NOT: moe.

// LOOPS: llvm.func @moec_model_run(
// LOOPS-NOT: llvm.call @moec_rt_moe_

// LIBM: llvm.intr.exp(
