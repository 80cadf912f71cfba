// RUN: moe-opt %moec_src/examples/embedding/moe_and_linalg.mlir --moe-optimize --moe-lower-to-host | FileCheck %s
// RUN: moe-opt %moec_src/examples/embedding/moe_and_linalg.mlir --moe-lower-to-host=disable-passes=moec-lower-moe-kernels-to-runtime | FileCheck %s --check-prefix=LOOPS
// A module of moe and linalg ops, no ONNX, lowered for the host: the runtime's entry point
// and model description, the layer on the runtime's kernels, the linalg exp as a libm call.
// With the runtime kernels' pass disabled, the moe ops run as loops instead.

// CHECK-DAG: llvm.mlir.global {{.*}} @moec_model_info("target host\0Ainput input_0 float32 ?,4\0Aoutput output_0 float32 ?,4\0A
// CHECK-DAG: llvm.func @moec_model_run(
// CHECK-DAG: llvm.call @moec_rt_moe_route_f32(
// CHECK-DAG: llvm.call @expf(
// CHECK-NOT: moe.

// LOOPS: llvm.func @moec_model_run(
// LOOPS-NOT: llvm.call @moec_rt_moe_
