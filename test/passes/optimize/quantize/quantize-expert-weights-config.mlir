// RUN: moe-opt %s -moec-quantize-expert-weights="bits=8 config=%S/Inputs/per-layer.json" 2>&1 | FileCheck %s
// RUN: not moe-opt %s -moec-quantize-expert-weights="config=%S/Inputs/unknown-key.json" 2>&1 | FileCheck %s --check-prefix=KEY
// RUN: not moe-opt %s -moec-quantize-expert-weights="config=%S/Inputs/bad-type.json" 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: not moe-opt %s -moec-quantize-expert-weights="config=%S/Inputs/bad-scheme.json" 2>&1 | FileCheck %s --check-prefix=SCHEME
// RUN: not moe-opt %s -moec-quantize-expert-weights="config=%S/Inputs/not-json.json" 2>&1 | FileCheck %s --check-prefix=JSON
// RUN: not moe-opt %s -moec-quantize-expert-weights="config=%S/Inputs/no-such.json" 2>&1 | FileCheck %s --check-prefix=FILE
// A config overrides the pass's bits, group size and scheme for the whole model (group 2
// here), per layer (named after its ONNX node) and per weight; "none" keeps f32.

// CHECK: warning: {{.*}}per-layer.json: no MoE layer is named 'missing'
// CHECK-LABEL: func.func @layers
// first: int4 up weights in groups of 2 rows; down weights stay f32.
// CHECK: %[[UP1:.*]] = moe.dequantize %{{.*}} scales(%{{.*}} : tensor<1x2x4xf32>) : tensor<1x4x4xi4> -> tensor<1x4x4xf32>
// CHECK: moe.layer %{{.*}}, %[[UP1]], %cst
// second: int8 up weights in one group of 4 rows; asymmetric int8 (the pass's) down weights
// in groups of 2.
// CHECK: %[[UP2:.*]] = moe.dequantize %{{.*}} scales(%{{.*}} : tensor<1x1x4xf32>) : tensor<1x4x4xi8> -> tensor<1x4x4xf32>
// CHECK: %[[DOWN2:.*]] = moe.dequantize %{{.*}} scales(%{{.*}} : tensor<1x1x4xf32>) zero_points(%{{.*}} : tensor<1x1x4xui8>) : tensor<1x2x4xui8> -> tensor<1x2x4xf32>
// CHECK: moe.layer %{{.*}}, %[[UP2]], %[[DOWN2]]
// CHECK-NOT: moe.dequantize
// KEY: error: {{.*}}unknown-key.json: layer 'first': unknown key 'typo'
// TYPE: error: {{.*}}bad-type.json: the file: 'type' must be 'int8', 'int4', 'fp8' or 'none'
// SCHEME: error: {{.*}}bad-scheme.json: the file: 'scheme' must be 'symmetric' or 'asymmetric'
// JSON: error: {{.*}}not-json.json: {{.*}}
// FILE: error: {{.*}}no-such.json: cannot read the quantization config: {{.*}}
func.func @layers(%x: tensor<?x4xf32>, %router: tensor<1x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>) {
  %up = arith.constant dense<[[[0.1, -0.2, 0.3, -0.4], [0.5, -0.6, 0.7, -0.8],
                               [0.9, -1.0, 0.11, 0.12], [-0.13, 0.14, -0.15, 0.16]]]> : tensor<1x4x4xf32>
  %down = arith.constant dense<[[[0.1, 0.2, -0.3, 0.4], [0.5, -0.6, 0.7, 0.8]]]> : tensor<1x2x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<1x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<1x4x4xf32>, tensor<1x2x4xf32>) -> tensor<?x4xf32> loc("first")
  %z = moe.layer %x, %up, %down router(%router : tensor<1x4xf32>)
         routing <scoring = softmax, k = 1>
         expert <activation = silu, gated = true>
         : (tensor<?x4xf32>, tensor<1x4x4xf32>, tensor<1x2x4xf32>) -> tensor<?x4xf32> loc("second")
  return %y, %z : tensor<?x4xf32>, tensor<?x4xf32>
}
