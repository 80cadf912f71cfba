// RUN: moe-opt %s --moe-optimize="quantize=int4 quantize-group=2" | FileCheck %s
// RUN: moe-opt %s --moe-optimize | FileCheck %s --check-prefix=NONE
// The named pipeline of the Optimize stage takes moec's quantization options.

// CHECK: moe.dequantize %{{.*}} scales(%{{.*}} : tensor<1x2x2xf32>) : tensor<1x4x2xi4> -> tensor<1x4x2xf32>
// NONE-NOT: moe.dequantize
func.func @layer(%x: tensor<?x4xf32>, %router: tensor<1x4xf32>) -> tensor<?x4xf32> {
  %up = arith.constant dense<[[[1.0, -0.5], [0.5, 2.5], [-2.5, 0.0], [1.0, 0.0]]]> : tensor<1x4x2xf32>
  %down = arith.constant dense<[[[1.0, -2.0, 3.0, -4.0]]]> : tensor<1x1x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<1x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<1x4x2xf32>, tensor<1x1x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
