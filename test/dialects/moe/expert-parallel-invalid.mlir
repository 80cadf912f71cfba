// RUN: moe-opt %s -split-input-file -verify-diagnostics
// moe.expert_parallel's placement must name ranks of the job and slots of the stacks.

func.func @rank_out_of_range(%x: tensor<?x16xf32>, %ids: tensor<?x1xi32>, %w: tensor<?x1xf32>,
                             %up: tensor<1x16x32xf32>, %down: tensor<1x32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{places expert 1 on rank 2 of 2}}
  %y = moe.expert_parallel %x, %ids, %w, %up, %down ranks 2 experts [0, 2] slots [0, 0]
         expert <activation = relu>
         : (tensor<?x16xf32>, tensor<?x1xi32>, tensor<?x1xf32>, tensor<1x16x32xf32>, tensor<1x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @slot_out_of_range(%x: tensor<?x16xf32>, %ids: tensor<?x1xi32>, %w: tensor<?x1xf32>,
                             %up: tensor<1x16x32xf32>, %down: tensor<1x32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{places expert 1 in slot 1 of stacks of 1 experts}}
  %y = moe.expert_parallel %x, %ids, %w, %up, %down ranks 2 experts [0, 1] slots [0, 1]
         expert <activation = relu>
         : (tensor<?x16xf32>, tensor<?x1xi32>, tensor<?x1xf32>, tensor<1x16x32xf32>, tensor<1x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @placement_sizes(%x: tensor<?x16xf32>, %ids: tensor<?x1xi32>, %w: tensor<?x1xf32>,
                           %up: tensor<1x16x32xf32>, %down: tensor<1x32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{has 2 expert ranks but 1 expert slots}}
  %y = moe.expert_parallel %x, %ids, %w, %up, %down ranks 2 experts [0, 1] slots [0]
         expert <activation = relu>
         : (tensor<?x16xf32>, tensor<?x1xi32>, tensor<?x1xf32>, tensor<1x16x32xf32>, tensor<1x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
