// RUN: moe-opt %s -split-input-file -verify-diagnostics
// moe.expert_parallel's placement must name ranks of the job and slots of the stacks, and its
// quantized stacks come with what dequantizes them.

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

// -----

// Quantized stacks need their scales, and unsigned codes their zero points.
func.func @codes_without_scales(%x: tensor<?x16xf32>, %ids: tensor<?x1xi32>, %w: tensor<?x1xf32>,
                                %up: tensor<1x16x32xi8>, %down: tensor<1x32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{has integer weights but no scales to dequantize them}}
  %y = moe.expert_parallel %x, %ids, %w, %up, %down ranks 2 experts [0, 1] slots [0, 0]
         expert <activation = relu>
         : (tensor<?x16xf32>, tensor<?x1xi32>, tensor<?x1xf32>, tensor<1x16x32xi8>, tensor<1x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @unsigned_codes_without_zero_points(%x: tensor<?x16xf32>, %ids: tensor<?x1xi32>, %w: tensor<?x1xf32>,
                                              %up: tensor<1x16x32xf32>, %down: tensor<1x32x16xui4>,
                                              %scales: tensor<1x1x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{has unsigned integer weights ('ui4') but no zero points}}
  %y = moe.expert_parallel %x, %ids, %w, %up, %down down_scales(%scales : tensor<1x1x16xf32>)
         ranks 2 experts [0, 1] slots [0, 0] expert <activation = relu>
         : (tensor<?x16xf32>, tensor<?x1xi32>, tensor<?x1xf32>, tensor<1x16x32xf32>, tensor<1x32x16xui4>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
