// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// A raised moe.layer passes through legalization untouched; its ONNX operands are
// legalized around it.

// CHECK-LABEL: func.func @raised_layer
// CHECK-SAME: (%[[X:.*]]: tensor<?x4xf32>)
// CHECK-DAG: %[[ROUTER:.*]] = arith.constant dense<1.000000e+00> : tensor<2x4xf32>
// CHECK-DAG: %[[UP:.*]] = arith.constant dense_resource<up> : tensor<2x4x4xf32>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense_resource<down> : tensor<2x4x4xf32>
// CHECK: %[[Y:.*]] = moe.layer %[[X]], %[[UP]], %[[DOWN]] router(%[[ROUTER]] : {{.*}}) routing <scoring = softmax, k = 1> expert <activation = relu>
// CHECK: return %[[Y]]
func.func @raised_layer(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %router = onnx.constant "router" dense_resource<router> : tensor<2x4xf32>
  %up = onnx.constant "up" dense_resource<up> : tensor<2x4x4xf32>
  %down = onnx.constant "down" dense_resource<down> : tensor<2x4x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<2x4xf32>) routing <scoring = softmax, k = 1> expert <activation = relu>
         : (tensor<?x4xf32>, tensor<2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      router: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F",
      up: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F",
      down: "0x040000000000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F0000803F"
    }
  }
#-}
