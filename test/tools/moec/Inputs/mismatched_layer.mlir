// A Switch-style layer whose down projection holds 3 experts, the up projection 2.
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %router = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %up = arith.constant dense<0.5> : tensor<2x4x8xf32>
  %down = arith.constant dense<0.25> : tensor<3x8x4xf32>
  %y = moe.layer %x, %up, %down router(%router : tensor<2x4xf32>) routing <scoring = softmax, k = 1> expert <activation = relu>
         : (tensor<?x4xf32>, tensor<2x4x8xf32>, tensor<3x8x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
