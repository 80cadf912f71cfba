// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// Softplus is max(x, 0) + log1p(exp(-|x|)), whose exp cannot overflow: log1p(exp(x))
// would be infinity for x above ~88 in float32, where softplus is x.

// CHECK-LABEL: func.func @softplus
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[ABS:.*]] = math.absf %[[X]]
// CHECK: %[[NEG:.*]] = arith.negf %[[ABS]]
// CHECK: %[[EXP:.*]] = math.exp %[[NEG]]
// CHECK: %[[TAIL:.*]] = math.log1p %[[EXP]]
// CHECK: %[[MAX:.*]] = arith.maximumf %[[X]]
// CHECK: arith.addf %[[MAX]], %[[TAIL]]
func.func @softplus(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = onnx.node "Softplus"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
