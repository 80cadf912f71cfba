// RUN: moe-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of moe.permute.

func.func @f(%ids: tensor<4x2xi32>) {
  // expected-error @+1 {{expert_offsets dimension 0 is 8 but must be 9 (one offset per expert plus the end)}}
  %s, %o = moe.permute %ids experts 8 block 1 : tensor<4x2xi32> -> tensor<8xi32>, tensor<8xi32>
  return
}

// -----

func.func @f(%ids: tensor<4x2xi32>) {
  // expected-error @+1 {{sorted_ids dimension 0 is 8 but must be 128 (tokens x k plus the worst-case padding of every expert)}}
  %s, %o = moe.permute %ids experts 8 block 16 : tensor<4x2xi32> -> tensor<8xi32>, tensor<9xi32>
  return
}

// -----

func.func @f(%ids: tensor<4x2xi32>) {
  // expected-error @+1 {{attribute 'block_size' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %s, %o = moe.permute %ids experts 8 block 0 : tensor<4x2xi32> -> tensor<8xi32>, tensor<9xi32>
  return
}

// -----

func.func @f(%ids: tensor<4x2xi32>) {
  // expected-error @+1 {{attribute 'num_experts' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %s, %o = moe.permute %ids experts 0 block 1 : tensor<4x2xi32> -> tensor<8xi32>, tensor<1xi32>
  return
}
