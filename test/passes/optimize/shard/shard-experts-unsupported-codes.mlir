// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=0" | FileCheck %s
// Codes that the exchange's kernels do not read (2-bit here: they take 8-bit and 4-bit
// integers and fp8) leave the layer as it is, on every rank.

// CHECK-LABEL: func.func @two_bit_codes
// CHECK-NOT: moe.expert_parallel
// CHECK: moe.unpermute
func.func @two_bit_codes(%x: tensor<?x2xf32>, %ids: tensor<?x1xi32>, %w: tensor<?x1xf32>) -> tensor<?x2xf32> {
  %up = arith.constant dense<1> : tensor<2x2x2xi2>
  %down = arith.constant dense<1.0> : tensor<2x2x2xf32>
  %scales = arith.constant dense<0.5> : tensor<2x1x2xf32>
  %sorted, %offsets = moe.permute %ids experts 2 block 1 : tensor<?x1xi32> -> tensor<?xi32>, tensor<3xi32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 1
         scales(%scales : tensor<2x1x2xf32>) expert <activation = relu>
         : (tensor<?x2xf32>, tensor<2x2x2xi2>, tensor<3xi32>, tensor<?xi32>) -> tensor<?x2xf32>
  %o = moe.grouped_matmul %h, %down offsets %offsets : (tensor<?x2xf32>, tensor<2x2x2xf32>, tensor<3xi32>) -> tensor<?x2xf32>
  %y = moe.unpermute %o, %sorted, %w : (tensor<?x2xf32>, tensor<?xi32>, tensor<?x1xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
