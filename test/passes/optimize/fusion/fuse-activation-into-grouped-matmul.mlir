// RUN: moe-opt %s -moec-fuse-activation-into-grouped-matmul -split-input-file | FileCheck %s
// moe.expert_activation of a grouped matmul without epilogue becomes that grouped matmul's
// epilogue, for every activation, gated or not.

// CHECK-LABEL: func.func @gated_silu
// CHECK-SAME: (%[[ROWS:.*]]: tensor<?x16xf32>, %[[UP:.*]]: tensor<4x16x64xf32>, %[[OFFSETS:.*]]: tensor<5xi32>)
// CHECK-NEXT: %[[H:.*]] = moe.grouped_matmul %[[ROWS]], %[[UP]] offsets %[[OFFSETS]] expert <activation = silu, gated = true> : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<5xi32>) -> tensor<?x32xf32>
// CHECK-NEXT: return %[[H]]
func.func @gated_silu(%rows: tensor<?x16xf32>, %up: tensor<4x16x64xf32>, %offsets: tensor<5xi32>) -> tensor<?x32xf32> {
  %gu = moe.grouped_matmul %rows, %up offsets %offsets : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<5xi32>) -> tensor<?x64xf32>
  %h = moe.expert_activation %gu expert <activation = silu, gated = true> : tensor<?x64xf32> -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

// GPT-OSS's clamped SwiGLU keeps its parameters; the bias and the gather stay.
// CHECK-LABEL: func.func @swiglu_clamped_gathered_with_bias
// CHECK: %[[H:.*]] = moe.grouped_matmul %{{.*}}, %{{.*}} offsets %{{.*}} gather %{{.*}}, rows_per_token 2 bias(%{{.*}} : tensor<4x64xf32>) expert <activation = swiglu_clamped, gated = true, alpha = 1.500000e+00, limit = 6.000000e+00> : ({{.*}}) -> tensor<?x32xf32>
// CHECK-NOT: moe.expert_activation
func.func @swiglu_clamped_gathered_with_bias(%x: tensor<?x16xf32>, %up: tensor<4x16x64xf32>, %offsets: tensor<5xi32>,
                                             %ids: tensor<?xi32>, %bias: tensor<4x64xf32>) -> tensor<?x32xf32> {
  %gu = moe.grouped_matmul %x, %up offsets %offsets gather %ids, rows_per_token 2 bias(%bias : tensor<4x64xf32>)
          : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x64xf32>
  %h = moe.expert_activation %gu expert <activation = swiglu_clamped, gated = true, alpha = 1.5, limit = 6.0>
         : tensor<?x64xf32> -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

// CHECK-LABEL: func.func @ungated_gelu_tanh
// CHECK: moe.grouped_matmul {{.*}} expert <activation = gelu_tanh> : ({{.*}}) -> tensor<6x32xf32>
// CHECK-NOT: moe.expert_activation
func.func @ungated_gelu_tanh(%rows: tensor<6x16xf32>, %up: tensor<4x16x32xf32>, %offsets: tensor<5xi32>) -> tensor<6x32xf32> {
  %u = moe.grouped_matmul %rows, %up offsets %offsets : (tensor<6x16xf32>, tensor<4x16x32xf32>, tensor<5xi32>) -> tensor<6x32xf32>
  %h = moe.expert_activation %u expert <activation = gelu_tanh> : tensor<6x32xf32> -> tensor<6x32xf32>
  return %h : tensor<6x32xf32>
}

// -----

// A product that something else reads too stays: the fused GEMM would not write it.
// CHECK-LABEL: func.func @product_read_twice
// CHECK: %[[U:.*]] = moe.grouped_matmul %{{.*}}, %{{.*}} offsets %{{.*}} : ({{.*}}) -> tensor<6x32xf32>
// CHECK: moe.expert_activation %[[U]] expert <activation = relu>
func.func @product_read_twice(%rows: tensor<6x16xf32>, %up: tensor<4x16x32xf32>, %offsets: tensor<5xi32>) -> (tensor<6x32xf32>, tensor<6x32xf32>) {
  %u = moe.grouped_matmul %rows, %up offsets %offsets : (tensor<6x16xf32>, tensor<4x16x32xf32>, tensor<5xi32>) -> tensor<6x32xf32>
  %h = moe.expert_activation %u expert <activation = relu> : tensor<6x32xf32> -> tensor<6x32xf32>
  return %h, %u : tensor<6x32xf32>, tensor<6x32xf32>
}

// -----

// A grouped matmul that has an epilogue already keeps it, and the activation after it.
// CHECK-LABEL: func.func @epilogue_taken
// CHECK: %[[U:.*]] = moe.grouped_matmul {{.*}} expert <activation = relu> : ({{.*}}) -> tensor<6x32xf32>
// CHECK: moe.expert_activation %[[U]] expert <activation = gelu>
func.func @epilogue_taken(%rows: tensor<6x16xf32>, %up: tensor<4x16x32xf32>, %offsets: tensor<5xi32>) -> tensor<6x32xf32> {
  %u = moe.grouped_matmul %rows, %up offsets %offsets expert <activation = relu> : (tensor<6x16xf32>, tensor<4x16x32xf32>, tensor<5xi32>) -> tensor<6x32xf32>
  %h = moe.expert_activation %u expert <activation = gelu> : tensor<6x32xf32> -> tensor<6x32xf32>
  return %h : tensor<6x32xf32>
}
