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

// Zero points go into the GEMM with the unsigned weights and scales.
// CHECK-LABEL: func.func @dequantized_weights_with_zero_points
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[Q:.*]]: tensor<8x64x32xui4>, %[[S:.*]]: tensor<8x2x32xf32>, %[[Z:.*]]: tensor<8x2x32xui4>, %[[O:.*]]: tensor<9xi32>)
// CHECK-NOT: moe.dequantize
// CHECK: moe.grouped_matmul %[[X]], %[[Q]] offsets %[[O]] scales(%[[S]] : tensor<8x2x32xf32>) zero_points(%[[Z]] : tensor<8x2x32xui4>) : (tensor<?x64xf32>, tensor<8x64x32xui4>, tensor<9xi32>) -> tensor<?x32xf32>
func.func @dequantized_weights_with_zero_points(%x: tensor<?x64xf32>, %q: tensor<8x64x32xui4>,
                                                %s: tensor<8x2x32xf32>, %z: tensor<8x2x32xui4>,
                                                %o: tensor<9xi32>) -> tensor<?x32xf32> {
  %w = moe.dequantize %q scales(%s : tensor<8x2x32xf32>) zero_points(%z : tensor<8x2x32xui4>)
         : tensor<8x64x32xui4> -> tensor<8x64x32xf32>
  %y = moe.grouped_matmul %x, %w offsets %o
       : (tensor<?x64xf32>, tensor<8x64x32xf32>, tensor<9xi32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// fp8 weights with 128 x 128 block scales ([E, K / 128, N / 128]) go in the same way.
// CHECK-LABEL: func.func @fp8_block_scales
// CHECK-SAME: (%[[X:.*]]: tensor<?x256xf32>, %[[Q:.*]]: tensor<8x256x384xf8E4M3FN>, %[[S:.*]]: tensor<8x2x3xf32>, %[[O:.*]]: tensor<9xi32>)
// CHECK: moe.grouped_matmul %[[X]], %[[Q]] offsets %[[O]] scales(%[[S]] : tensor<8x2x3xf32>) : (tensor<?x256xf32>, tensor<8x256x384xf8E4M3FN>, tensor<9xi32>) -> tensor<?x384xf32>
func.func @fp8_block_scales(%x: tensor<?x256xf32>, %q: tensor<8x256x384xf8E4M3FN>,
                            %s: tensor<8x2x3xf32>, %o: tensor<9xi32>) -> tensor<?x384xf32> {
  %w = moe.dequantize %q scales(%s : tensor<8x2x3xf32>) : tensor<8x256x384xf8E4M3FN> -> tensor<8x256x384xf32>
  %y = moe.grouped_matmul %x, %w offsets %o
       : (tensor<?x256xf32>, tensor<8x256x384xf32>, tensor<9xi32>) -> tensor<?x384xf32>
  return %y : tensor<?x384xf32>
}
