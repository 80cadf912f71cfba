// A decode-sized MoE layer's kernel ops in bf16, with f32 at the boundary (what the
// programs that compare them take): the gathered, gated up projection with a bias and the
// plain down projection, over segments padded to 4 rows.
#map = affine_map<(d0, d1) -> (d0, d1)>
#map3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @main(%logits: tensor<?x8xf32>, %x32: tensor<?x64xf32>, %w_up32: tensor<8x64x96xf32>,
                %b_up32: tensor<8x96xf32>, %w_down32: tensor<8x48x64xf32>)
    -> (tensor<?x48xf32>, tensor<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %tokens = tensor.dim %x32, %c0 : tensor<?x64xf32>
  %x_init = tensor.empty(%tokens) : tensor<?x64xbf16>
  %x = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
         ins(%x32 : tensor<?x64xf32>) outs(%x_init : tensor<?x64xbf16>) {
       ^bb0(%in: f32, %out: bf16):
         %t = arith.truncf %in : f32 to bf16
         linalg.yield %t : bf16
       } -> tensor<?x64xbf16>
  %w_up_init = tensor.empty() : tensor<8x64x96xbf16>
  %w_up = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]}
            ins(%w_up32 : tensor<8x64x96xf32>) outs(%w_up_init : tensor<8x64x96xbf16>) {
          ^bb0(%in: f32, %out: bf16):
            %t = arith.truncf %in : f32 to bf16
            linalg.yield %t : bf16
          } -> tensor<8x64x96xbf16>
  %w_down_init = tensor.empty() : tensor<8x48x64xbf16>
  %w_down = linalg.generic {indexing_maps = [#map3, #map3], iterator_types = ["parallel", "parallel", "parallel"]}
              ins(%w_down32 : tensor<8x48x64xf32>) outs(%w_down_init : tensor<8x48x64xbf16>) {
            ^bb0(%in: f32, %out: bf16):
              %t = arith.truncf %in : f32 to bf16
              linalg.yield %t : bf16
            } -> tensor<8x48x64xbf16>
  %b_up_init = tensor.empty() : tensor<8x96xbf16>
  %b_up = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
            ins(%b_up32 : tensor<8x96xf32>) outs(%b_up_init : tensor<8x96xbf16>) {
          ^bb0(%in: f32, %out: bf16):
            %t = arith.truncf %in : f32 to bf16
            linalg.yield %t : bf16
          } -> tensor<8x96xbf16>
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 4 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %sorted, rows_per_token 2
         bias(%b_up : tensor<8x96xbf16>) expert <activation = silu, gated = true>
         : (tensor<?x64xbf16>, tensor<8x64x96xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x48xbf16>
  %out = moe.grouped_matmul %h, %w_down offsets %offsets
         : (tensor<?x48xbf16>, tensor<8x48x64xbf16>, tensor<9xi32>) -> tensor<?x64xbf16>
  %slots = tensor.dim %h, %c0 : tensor<?x48xbf16>
  %h_init = tensor.empty(%slots) : tensor<?x48xf32>
  %h32 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
           ins(%h : tensor<?x48xbf16>) outs(%h_init : tensor<?x48xf32>) {
         ^bb0(%in: bf16, %o: f32):
           %e = arith.extf %in : bf16 to f32
           linalg.yield %e : f32
         } -> tensor<?x48xf32>
  %out_init = tensor.empty(%slots) : tensor<?x64xf32>
  %out32 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
             ins(%out : tensor<?x64xbf16>) outs(%out_init : tensor<?x64xf32>) {
           ^bb0(%in: bf16, %o: f32):
             %e = arith.extf %in : bf16 to f32
             linalg.yield %e : f32
           } -> tensor<?x64xf32>
  return %h32, %out32 : tensor<?x48xf32>, tensor<?x64xf32>
}
