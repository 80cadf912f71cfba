// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.grouped_matmul.

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x12x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{input dimension 1 is 16 but must be 12 (the weights' rows)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2
       : (tensor<4x16xf32>, tensor<8x12x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<8xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{expert_offsets dimension 0 is 8 but must be 9 (one offset per expert plus the end)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<8xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{result dimension 0 is 4 but must be 8 (one row per entry of sorted_ids)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>) {
  // expected-error @+1 {{result dimension 0 is 8 but must be 4 (one row per row of the sorted input)}}
  %y = moe.grouped_matmul %x, %w offsets %o
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{result dimension 1 is 32 but must be 16 (half the weight columns, after the gated epilogue)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2  expert <activation = silu, gated = true>
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{result dimension 1 is 16 but must be 32 (the weight columns)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{result has element type 'f16' but must have 'f32' (the element type of the input)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf16>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x33xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{has a gated activation but an odd number of weight columns (33)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2  expert <activation = silu, gated = true>
       : (tensor<4x16xf32>, tensor<8x16x33xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x?xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>, %b: tensor<4x32xf32>) {
  // expected-error @+1 {{bias dimension 0 is 4 but must be 8 (the number of experts)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2 bias(%b : tensor<4x32xf32>)
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>, %b: tensor<8x16xf32>) {
  // expected-error @+1 {{bias dimension 1 is 16 but must be 32 (the weight columns)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2 bias(%b : tensor<8x16xf32>)
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>, %b: tensor<8x32xbf16>) {
  // expected-error @+1 {{bias has element type 'bf16' but must have 'f32' (the element type of the input)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2 bias(%b : tensor<8x32xbf16>)
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xi8>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{has integer weights but no scales to dequantize them}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2
       : (tensor<4x16xf32>, tensor<8x16x32xi8>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>, %sc: tensor<8x2x32xf32>) {
  // expected-error @+1 {{has scales but floating-point weights}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2 scales(%sc : tensor<8x2x32xf32>)
       : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xbf16>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{weights has element type 'bf16' but must have 'f32' (the element type of the input)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2
       : (tensor<4x16xf32>, tensor<8x16x32xbf16>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xi4>, %o: tensor<9xi32>, %s: tensor<8xi32>, %sc: tensor<4x2x32xf32>) {
  // expected-error @+1 {{scales dimension 0 is 4 but must be 8 (the number of experts)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2 scales(%sc : tensor<4x2x32xf32>)
       : (tensor<4x16xf32>, tensor<8x16x32xi4>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xi4>, %o: tensor<9xi32>, %s: tensor<8xi32>, %sc: tensor<8x2x16xf32>) {
  // expected-error @+1 {{scales dimension 2 is 16 but must be 32 (the weight columns)}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2 scales(%sc : tensor<8x2x16xf32>)
       : (tensor<4x16xf32>, tensor<8x16x32xi4>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xi4>, %o: tensor<9xi32>, %s: tensor<8xi32>, %sc: tensor<8x3x32xf32>) {
  // expected-error @+1 {{has 3 scale groups, which do not divide the 16 weight rows evenly}}
  %y = moe.grouped_matmul %x, %w offsets %o gather %s, rows_per_token 2 scales(%sc : tensor<8x3x32xf32>)
       : (tensor<4x16xf32>, tensor<8x16x32xi4>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{needs rows_per_token exactly when it gathers through sorted_ids}}
  %y = "moe.grouped_matmul"(%x, %w, %o, %s) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0, 0, 0, 0>}>
         : (tensor<4x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%h: tensor<8x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %ids: tensor<8xi32>) {
  // expected-error @+1 {{needs both combine_ids and combine_weights to combine, or neither}}
  %y = "moe.grouped_matmul"(%h, %w, %o, %ids) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 1, 0>}>
         : (tensor<8x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>, tensor<8xi32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xui8>, %o: tensor<9xi32>, %sc: tensor<8x2x32xf32>) {
  // expected-error @+1 {{has unsigned integer weights ('ui8') but no zero points}}
  %y = moe.grouped_matmul %x, %w offsets %o scales(%sc : tensor<8x2x32xf32>)
       : (tensor<4x16xf32>, tensor<8x16x32xui8>, tensor<9xi32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%h: tensor<8x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %ids: tensor<6xi32>, %rw: tensor<4x2xf32>) {
  // expected-error @+1 {{combine_ids dimension 0 is 6 but must be 8 (one entry per row)}}
  %y = moe.grouped_matmul %h, %w offsets %o combine(%ids, %rw : tensor<6xi32>, tensor<4x2xf32>)
       : (tensor<8x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xui8>, %o: tensor<9xi32>, %z: tensor<8x2x32xui8>) {
  // expected-error @+1 {{has zero points but no scales}}
  %y = moe.grouped_matmul %x, %w offsets %o zero_points(%z : tensor<8x2x32xui8>)
       : (tensor<4x16xf32>, tensor<8x16x32xui8>, tensor<9xi32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%h: tensor<8x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %ids: tensor<8xi32>, %rw: tensor<4x2xf16>) {
  // expected-error @+1 {{combine_weights has element type 'f16' but must have 'f32' (the element type of the input)}}
  %y = moe.grouped_matmul %h, %w offsets %o combine(%ids, %rw : tensor<8xi32>, tensor<4x2xf16>)
       : (tensor<8x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>) -> tensor<4x32xf32>
  return
}

// -----

func.func @f(%h: tensor<8x16xf32>, %w: tensor<8x16x32xf32>, %o: tensor<9xi32>, %ids: tensor<8xi32>, %rw: tensor<4x2xf32>) {
  // expected-error @+1 {{result dimension 0 is 8 but must be 4 (one row per token of combine_weights)}}
  %y = moe.grouped_matmul %h, %w offsets %o combine(%ids, %rw : tensor<8xi32>, tensor<4x2xf32>)
       : (tensor<8x16xf32>, tensor<8x16x32xf32>, tensor<9xi32>) -> tensor<8x32xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %w: tensor<8x16x32xui8>, %o: tensor<9xi32>, %sc: tensor<8x2x32xf32>, %z: tensor<8x2x16xui8>) {
  // expected-error @+1 {{zero_points dimension 2 is 16 but must be 32 (the shape of the scales)}}
  %y = moe.grouped_matmul %x, %w offsets %o scales(%sc : tensor<8x2x32xf32>) zero_points(%z : tensor<8x2x16xui8>)
       : (tensor<4x16xf32>, tensor<8x16x32xui8>, tensor<9xi32>) -> tensor<4x32xf32>
  return
}
