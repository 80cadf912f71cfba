// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Gemm: transposes, one matmul, then alpha and beta * C in one elementwise epilogue.

// CHECK-LABEL: func.func @gemm
// CHECK: %[[BT:.*]] = linalg.transpose ins(%arg1 : tensor<8x16xf32>) outs(%{{.*}} : tensor<16x8xf32>) permutation = [1, 0]
// CHECK: %[[P:.*]] = linalg.matmul ins(%arg0, %[[BT]] : tensor<4x16xf32>, tensor<16x8xf32>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[P]], %arg2 : tensor<4x8xf32>, tensor<8xf32>)
// CHECK: arith.constant 5.000000e-01 : f32
// CHECK: arith.mulf
// CHECK: arith.constant 2.000000e+00 : f32
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @gemm(%a: tensor<4x16xf32>, %b: tensor<8x16xf32>, %c: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = onnx.node "Gemm"(%a, %b, %c) {node_attrs = {transB = 1 : i64, alpha = 0.5 : f32, beta = 2.0 : f32}}
         : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
