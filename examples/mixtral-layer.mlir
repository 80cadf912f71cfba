// A Mixtral-style MoE layer (8 experts, top-2, renormalized SwiGLU) at the moe level, next to
// the kernel-level ops it decomposes into. scripts/demo.sh verifies and canonicalizes it.
func.func @mixtral_layer(%x: tensor<?x64xf32>, %router: tensor<8x64xf32>,
                         %up: tensor<8x64x256xf32>, %down: tensor<8x128x64xf32>) -> tensor<?x64xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<8x64xf32>)
         routing <scoring = softmax, k = 2, renormalize = true>
         expert <activation = silu, gated = true>
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<8x128x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

func.func @mixtral_kernels(%x: tensor<4x64xf32>, %logits: tensor<4x8xf32>,
                           %up: tensor<8x64x256xf32>, %down: tensor<8x128x64xf32>) -> tensor<4x64xf32> {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true>
               : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 16
                        : tensor<4x2xi32> -> tensor<128xi32>, tensor<9xi32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = silu, gated = true>
         : (tensor<4x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<128xi32>) -> tensor<128x128xf32>
  %out = moe.grouped_matmul %h, %down offsets %offsets
           : (tensor<128x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<128x64xf32>
  %y = moe.unpermute %out, %sorted, %w
         : (tensor<128x64xf32>, tensor<128xi32>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}
