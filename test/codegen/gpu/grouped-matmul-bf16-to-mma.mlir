// RUN: moe-opt %s -moec-grouped-matmul-to-bf16 -moec-lower-grouped-matmul-to-mma | FileCheck %s
// What --precision=bf16 asks of the GPU pipeline: an f32 expert GEMM, rounded to bf16 at
// the tensor level, becomes a tensor-core launch on the bf16 weight constant, between the
// rounding of the activations and the widening of the result.
// CHECK-LABEL: func.func @f32_expert
// CHECK: %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<4x32x16xbf16>
// CHECK: %[[X16:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x32xbf16>)
// CHECK: %[[X_BUF:.*]] = bufferization.to_buffer %[[X16]] read_only
// CHECK: %[[W_BUF:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK: gpu.launch_func @moec_kernels::@grouped_matmul_mma_bf16_k32_n16_relu_{{.*}} args(%[[X_BUF]] : memref<?x32xbf16>
// CHECK: %[[Y16:.*]] = bufferization.to_tensor
// CHECK: linalg.generic {{.*}} ins(%[[Y16]] : tensor<?x16xbf16>) outs(%{{.*}} : tensor<?x16xf32>)
func.func @f32_expert(%x: tensor<?x32xf32>, %offsets: tensor<5xi32>) -> tensor<?x16xf32> {
  %w = arith.constant dense<0.5> : tensor<4x32x16xf32>
  %y = moe.grouped_matmul %x, %w offsets %offsets expert <activation = relu>
         : (tensor<?x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
