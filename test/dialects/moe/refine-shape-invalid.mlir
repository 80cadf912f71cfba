// RUN: moe-opt %s -split-input-file -verify-diagnostics

func.func @other_rank(%x: tensor<?x3xf32>) -> tensor<4x3x1xf32> {
  // expected-error @+1 {{must have the element type and rank of}}
  %r = moe.refine_shape %x, "output 'y'" : tensor<?x3xf32> -> tensor<4x3x1xf32>
  return %r : tensor<4x3x1xf32>
}

// -----

func.func @other_element_type(%x: tensor<?x3xf32>) -> tensor<4x3xf16> {
  // expected-error @+1 {{must have the element type and rank of}}
  %r = moe.refine_shape %x, "output 'y'" : tensor<?x3xf32> -> tensor<4x3xf16>
  return %r : tensor<4x3xf16>
}

// -----

func.func @changes_static_dim(%x: tensor<?x3xf32>) -> tensor<4x5xf32> {
  // expected-error @+1 {{result dim 1 must keep the source's static size 3}}
  %r = moe.refine_shape %x, "output 'y'" : tensor<?x3xf32> -> tensor<4x5xf32>
  return %r : tensor<4x5xf32>
}

// -----

func.func @drops_static_dim(%x: tensor<2x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{result dim 0 must keep the source's static size 2}}
  %r = moe.refine_shape %x, "output 'y'" : tensor<2x3xf32> -> tensor<?x3xf32>
  return %r : tensor<?x3xf32>
}
