// RUN: moe-opt %s -moec-quantize-expert-weights="group-size=2 report=true" -o /dev/null 2>&1 | FileCheck %s
// RUN: moe-opt %s -moec-quantize-expert-weights="bits=4 group-size=2 report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=INT4
// RUN: moe-opt %s -moec-quantize-expert-weights="bits=4 group-size=2 scheme=asymmetric report=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UINT4
// With report, one line per layer: each weight's bytes before and after (int4 packed, the
// scales included: with groups of 2 rows they are most of it) and the error of the experts' output on a random probe.

// CHECK-DAG: moe.layer 'small': up_weight int8 256 -> 192 bytes (groups of 2 rows), down_weight int8 128 -> 96 bytes (groups of 2 rows); relative L2 error of the experts' output on 8 random tokens: 0.0{{[0-9]+}}
// CHECK-DAG: moe.layer 'arguments': up_weight not quantized, down_weight int8 128 -> 96 bytes (groups of 2 rows); error not measured (weights that are not constants)
// INT4: moe.layer 'small': up_weight int4 256 -> 160 bytes (groups of 2 rows), down_weight int4 128 -> 80 bytes (groups of 2 rows); relative L2 error of the experts' output on 8 random tokens: 0.{{[01][0-9]+}}
// Asymmetric: the zero points (packed, two groups a byte) are counted too.
// UINT4: moe.layer 'small': up_weight int4 asymmetric 256 -> 176 bytes (groups of 2 rows), down_weight int4 asymmetric 128 -> 88 bytes (groups of 2 rows); relative L2 error of the experts' output on 8 random tokens: 0.{{[01][0-9]+}}
func.func @layers(%x: tensor<?x4xf32>, %router: tensor<2x4xf32>, %up_arg: tensor<2x4x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %up = arith.constant dense<[[[0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8],
                               [0.9, -1.0, 0.11, 0.12, -0.13, 0.14, -0.15, 0.16],
                               [0.17, 0.18, -0.19, 0.2, 0.21, -0.22, 0.23, 0.24],
                               [-0.25, 0.26, 0.27, -0.28, 0.29, 0.3, -0.31, 0.32]],
                              [[0.33, -0.34, 0.35, 0.36, -0.37, 0.38, 0.39, -0.4],
                               [0.41, 0.42, -0.43, 0.44, 0.45, -0.46, 0.47, 0.48],
                               [-0.49, 0.5, 0.51, -0.52, 0.53, 0.54, -0.55, 0.56],
                               [0.57, -0.58, 0.59, 0.6, -0.61, 0.62, 0.63, -0.64]]]> : tensor<2x4x8xf32>
  %down = arith.constant dense<[[[0.1, 0.2, -0.3, 0.4], [0.5, -0.6, 0.7, 0.8], [-0.9, 1.0, 0.1, -0.2], [0.3, 0.4, -0.5, 0.6]],
                                [[-0.7, 0.8, 0.9, -1.0], [0.15, 0.25, -0.35, 0.45], [0.55, -0.65, 0.75, 0.85], [-0.95, 0.05, 0.1, 0.2]]]> : tensor<2x4x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<2x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<2x4x8xf32>, tensor<2x4x4xf32>) -> tensor<?x4xf32> loc("small")
  %z = moe.layer %x, %up_arg, %down router(%router : tensor<2x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<2x4x8xf32>, tensor<2x4x4xf32>) -> tensor<?x4xf32> loc("arguments")
  return %y, %z : tensor<?x4xf32>, tensor<?x4xf32>
}
