// RUN: moe-opt %s -moec-lower-moe-kernels-to-runtime -split-input-file | FileCheck %s
// The host kernels take f32 values, and int8 or constant int4 quantized weights; the pass
// leaves any other op as it is, for moec-lower-moe-kernels-to-loops, and calls no kernel
// for it.

// CHECK-LABEL: func.func @f16
// CHECK-NOT: call
// CHECK: moe.unpermute
// CHECK-NOT: call
// CHECK: return
func.func @f16(%out: tensor<?x64xf16>, %sorted: tensor<?xi32>, %w: tensor<?x2xf16>) -> tensor<?x64xf16> {
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf16>, tensor<?xi32>, tensor<?x2xf16>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}

// -----

// int4 weights that are not constants: nothing packs them.
// CHECK-LABEL: func.func @quantized
// CHECK-NOT: call
// CHECK: moe.grouped_matmul
// CHECK-NOT: call
// CHECK: return
func.func @quantized(%x: tensor<?x64xf32>, %w: tensor<8x64x32xi4>, %offsets: tensor<9xi32>,
                     %s: tensor<8x2x32xf32>) -> tensor<?x32xf32> {
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<8x2x32xf32>)
         : (tensor<?x64xf32>, tensor<8x64x32xi4>, tensor<9xi32>) -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}
