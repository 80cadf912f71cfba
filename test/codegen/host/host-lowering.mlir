// RUN: moe-opt %s -moec-export-model-info -moec-host-lowering | FileCheck %s
// A tensor-level model lowers to the LLVM dialect alone, with the runtime's entry point and
// model info, and every returned buffer owned by the caller.

// CHECK-NOT: func.func
// CHECK-NOT: unrealized_conversion_cast
// CHECK-DAG: llvm.mlir.global external constant @moec_model_info("target host\0Ainput x float32 n,4\0Aoutput y float32 n,3\0Aoutput x_again float32 n,4\0A\00")
// CHECK-DAG: llvm.func @moec_model_entry(
// CHECK-DAG: llvm.func @moec_model_run(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// The input returned as an output is copied, not aliased, into a buffer from the runtime's
// allocation function, which fails with one line where malloc fails.
// CHECK-DAG: llvm.call @_mlir_memref_to_llvm_alloc
func.func @main(%x: tensor<?x4xf32> {onnx.name = "x", onnx.dim_params = ["n", ""]})
    -> (tensor<?x3xf32> {onnx.name = "y", onnx.dim_params = ["n", ""]},
        tensor<?x4xf32> {onnx.name = "x_again", onnx.dim_params = ["n", ""]}) {
  %w = "tosa.const"() {values = dense<[[0.0, 0.1, 0.2], [0.3, 0.4, 0.5], [0.6, 0.7, 0.8], [0.9, 1.0, 1.1]]> : tensor<4x3xf32>} : () -> tensor<4x3xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x3xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<?x3xf32>) -> tensor<?x3xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x3xf32>) outs(%f : tensor<?x3xf32>) -> tensor<?x3xf32>
  %r = tosa.clamp %m {min_val = 0.0 : f32, max_val = 3.4e38 : f32} : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %r, %x : tensor<?x3xf32>, tensor<?x4xf32>
}
