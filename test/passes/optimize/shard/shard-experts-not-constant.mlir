// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=0" | FileCheck %s
// Expert weights that are not constants cannot be split into the ranks' weights: the layer
// stays as it is.

// CHECK-LABEL: func.func @weights_are_arguments
// CHECK-NOT: moe.expert_parallel
// CHECK: moe.unpermute
func.func @weights_are_arguments(%x: tensor<?x2xf32>, %ids: tensor<?x1xi32>, %w: tensor<?x1xf32>,
                                 %up: tensor<2x2x2xf32>, %down: tensor<2x2x2xf32>) -> tensor<?x2xf32> {
  %sorted, %offsets = moe.permute %ids experts 2 block 1 : tensor<?x1xi32> -> tensor<?xi32>, tensor<3xi32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 1
         expert <activation = relu>
         : (tensor<?x2xf32>, tensor<2x2x2xf32>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x2xf32>
  %o = moe.grouped_matmul %h, %down offsets %offsets : (tensor<?x2xf32>, tensor<2x2x2xf32>, tensor<3xi32>) -> tensor<?x2xf32>
  %y = moe.unpermute %o, %sorted, %w : (tensor<?x2xf32>, tensor<?xi32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
