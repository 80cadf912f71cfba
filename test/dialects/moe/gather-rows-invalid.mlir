// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.gather_rows.

func.func @f(%x: tensor<4x16xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{result dimension 0 is 4 but must be 8 (one row per entry of sorted_ids)}}
  %y = moe.gather_rows %x, %s, rows_per_token 2 : (tensor<4x16xf32>, tensor<8xi32>) -> tensor<4x16xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{result dimension 1 is 12 but must be 16 (the tokens' columns)}}
  %y = moe.gather_rows %x, %s, rows_per_token 2 : (tensor<4x16xf32>, tensor<8xi32>) -> tensor<8x12xf32>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{result has element type 'f16' but must have 'f32' (the element type of the tokens)}}
  %y = moe.gather_rows %x, %s, rows_per_token 2 : (tensor<4x16xf32>, tensor<8xi32>) -> tensor<8x16xf16>
  return
}

// -----

func.func @f(%x: tensor<4x16xf32>, %s: tensor<8xi32>) {
  // expected-error @+1 {{attribute 'rows_per_token' failed to satisfy constraint}}
  %y = moe.gather_rows %x, %s, rows_per_token 0 : (tensor<4x16xf32>, tensor<8xi32>) -> tensor<8x16xf32>
  return
}
