// What a framework with its own MLIR hands moec: a moe.layer (top-1 Switch routing, ReLU
// experts) and an upstream linalg op after it, no ONNX anywhere.
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %router = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %up = arith.constant dense<0.5> : tensor<2x4x8xf32>
  %down = arith.constant dense<0.25> : tensor<2x8x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<2x4xf32>) routing <scoring = softmax, k = 1> expert <activation = relu>
         : (tensor<?x4xf32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<?x4xf32>
  %e = linalg.elementwise kind=#linalg.elementwise_kind<exp> ins(%y : tensor<?x4xf32>) outs(%y : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %e : tensor<?x4xf32>
}
