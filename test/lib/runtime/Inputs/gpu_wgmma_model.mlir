// An MoE FFN whose expert GEMMs, in bf16 for sm_90a, run as wgmma kernels that read
// their input rows and weights through TMA tensor maps (gpu-tensor-maps.test).
func.func @main(%logits: tensor<?x4xf32>, %x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %w_up = arith.constant dense<0.5> : tensor<4x64x256xf32>
  %w_down = arith.constant dense<0.25> : tensor<4x128x64xf32>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true>
               : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %sorted, %offsets = moe.permute %ids experts 4 block 4 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = silu, gated = true>
         : (tensor<?x64xf32>, tensor<4x64x256xf32>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x128xf32>
  %out = moe.grouped_matmul %h, %w_down offsets %offsets
         : (tensor<?x128xf32>, tensor<4x128x64xf32>, tensor<5xi32>) -> tensor<?x64xf32>
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
