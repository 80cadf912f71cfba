// RUN: moe-opt %s -canonicalize | FileCheck %s
// A grouped matmul over weights that a moe.dequantize makes takes the quantized weights and
// their scales itself: the weights are dequantized inside the GEMM.

// CHECK-LABEL: func.func @dequantized_weights
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[Q:.*]]: tensor<8x64x32xi4>, %[[S:.*]]: tensor<8x2x32xf32>, %[[O:.*]]: tensor<9xi32>)
// CHECK-NOT: moe.dequantize
// CHECK: moe.grouped_matmul %[[X]], %[[Q]] offsets %[[O]] scales(%[[S]] : tensor<8x2x32xf32>) : (tensor<?x64xf32>, tensor<8x64x32xi4>, tensor<9xi32>) -> tensor<?x32xf32>
func.func @dequantized_weights(%x: tensor<?x64xf32>, %q: tensor<8x64x32xi4>, %s: tensor<8x2x32xf32>,
                               %o: tensor<9xi32>) -> tensor<?x32xf32> {
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) : tensor<8x64x32xi4> -> tensor<8x64x32xf32>
  %y = moe.grouped_matmul %x, %w offsets %o
       : (tensor<?x64xf32>, tensor<8x64x32xf32>, tensor<9xi32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
