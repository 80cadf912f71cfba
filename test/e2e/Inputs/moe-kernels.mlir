// The kernel-level moe ops with every intermediate as an output, for comparing two
// lowerings of them; the test substitutes ROUTING (the score bias operand and the
// routing attribute) and K (experts per token).
func.func @main(%logits: tensor<?x8xf32>, %score_bias: tensor<8xf32>, %x: tensor<?x16xf32>,
                %w_up: tensor<8x16x24xf32>, %b_up: tensor<8x24xf32>, %w_down: tensor<8x12x16xf32>,
                %odd_ids: tensor<?xKxi32>)
    -> (tensor<?xKxf32>, tensor<?xKxi32>, tensor<?xi32>, tensor<9xi32>, tensor<?x12xf32>,
        tensor<?x16xf32>, tensor<?x16xf32>, tensor<?xi32>, tensor<9xi32>) {
  %w, %ids = moe.route %logits ROUTING
               : tensor<?x8xf32> -> tensor<?xKxf32>, tensor<?xKxi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 4 : tensor<?xKxi32> -> tensor<?xi32>, tensor<9xi32>
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %sorted, rows_per_token K
         bias(%b_up : tensor<8x24xf32>) expert <activation = silu, gated = true>
         : (tensor<?x16xf32>, tensor<8x16x24xf32>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x12xf32>
  %out = moe.grouped_matmul %h, %w_down offsets %offsets
         : (tensor<?x12xf32>, tensor<8x12x16xf32>, tensor<9xi32>) -> tensor<?x16xf32>
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x16xf32>, tensor<?xi32>, tensor<?xKxf32>) -> tensor<?x16xf32>
  // Ids outside [0, 8) name no expert and are left out of every segment.
  %odd_sorted, %odd_offsets = moe.permute %odd_ids experts 8 block 4 : tensor<?xKxi32> -> tensor<?xi32>, tensor<9xi32>
  return %w, %ids, %sorted, %offsets, %h, %out, %y, %odd_sorted, %odd_offsets
    : tensor<?xKxf32>, tensor<?xKxi32>, tensor<?xi32>, tensor<9xi32>, tensor<?x12xf32>,
      tensor<?x16xf32>, tensor<?x16xf32>, tensor<?xi32>, tensor<9xi32>
}
