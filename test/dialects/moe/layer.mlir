// RUN: moe-opt %s | moe-opt | FileCheck %s
// moe.layer round-trips with and without each optional operand.

// CHECK-LABEL: func.func @mixtral
// CHECK: moe.layer %arg0, %arg2, %arg3 router(%arg1 : tensor<8x64xf32>) routing <scoring = softmax, k = 2, renormalize = true> expert <activation = silu, gated = true> : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<8x128x64xf32>) -> tensor<?x64xf32>
func.func @mixtral(%x: tensor<?x64xf32>, %router: tensor<8x64xf32>, %up: tensor<8x64x256xf32>, %down: tensor<8x128x64xf32>) -> tensor<?x64xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<8x64xf32>)
         routing <scoring = softmax, k = 2, renormalize = true>
         expert <activation = silu, gated = true>
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<8x128x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @gpt_oss_biases
// CHECK: moe.layer %arg0, %arg2, %arg3 router(%arg1 : tensor<4x16xbf16>) router_bias(%arg4 : tensor<4xbf16>) up_bias(%arg5 : tensor<4x64xbf16>) down_bias(%arg6 : tensor<4x16xbf16>) routing <scoring = softmax, k = 2, topk_first = true> expert <activation = swiglu_clamped, gated = true>
func.func @gpt_oss_biases(%x: tensor<3x16xbf16>, %router: tensor<4x16xbf16>, %up: tensor<4x16x64xbf16>, %down: tensor<4x32x16xbf16>,
                          %rb: tensor<4xbf16>, %ub: tensor<4x64xbf16>, %db: tensor<4x16xbf16>) -> tensor<3x16xbf16> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xbf16>) router_bias(%rb : tensor<4xbf16>) up_bias(%ub : tensor<4x64xbf16>) down_bias(%db : tensor<4x16xbf16>)
         routing <scoring = softmax, k = 2, topk_first = true>
         expert <activation = swiglu_clamped, gated = true>
         : (tensor<3x16xbf16>, tensor<4x16x64xbf16>, tensor<4x32x16xbf16>) -> tensor<3x16xbf16>
  return %y : tensor<3x16xbf16>
}

// CHECK-LABEL: func.func @deepseek_v3_shared
// CHECK: moe.layer %arg0, %arg2, %arg3 router(%arg1 : tensor<16x32xf32>) score_bias(%arg4 : tensor<16xf32>) shared(%arg5, %arg6 : tensor<32x48xf32>, tensor<24x32xf32>) routing <scoring = sigmoid, k = 4, renormalize = true, n_group = 4, topk_group = 2, routed_scaling_factor = 2.500000e+00> expert <activation = silu, gated = true>
func.func @deepseek_v3_shared(%x: tensor<?x32xf32>, %router: tensor<16x32xf32>, %up: tensor<16x32x16xf32>, %down: tensor<16x8x32xf32>,
                              %bias: tensor<16xf32>, %sup: tensor<32x48xf32>, %sdown: tensor<24x32xf32>) -> tensor<?x32xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<16x32xf32>) score_bias(%bias : tensor<16xf32>) shared(%sup, %sdown : tensor<32x48xf32>, tensor<24x32xf32>)
         routing <scoring = sigmoid, k = 4, renormalize = true, n_group = 4, topk_group = 2, routed_scaling_factor = 2.5>
         expert <activation = silu, gated = true>
         : (tensor<?x32xf32>, tensor<16x32x16xf32>, tensor<16x8x32xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}

// CHECK-LABEL: func.func @qwen_gated_shared
// CHECK: shared(%arg4, %arg5 : tensor<32x32xf16>, tensor<16x32xf16>) shared_gate(%arg6 : tensor<32x1xf16>) routing <scoring = softmax, k = 2> expert <activation = silu, gated = true>
func.func @qwen_gated_shared(%x: tensor<?x32xf16>, %router: tensor<4x32xf16>, %up: tensor<4x32x16xf16>, %down: tensor<4x8x32xf16>,
                             %sup: tensor<32x32xf16>, %sdown: tensor<16x32xf16>, %sgate: tensor<32x1xf16>) -> tensor<?x32xf16> {
  %y = moe.layer %x, %up, %down router(%router : tensor<4x32xf16>) shared(%sup, %sdown : tensor<32x32xf16>, tensor<16x32xf16>) shared_gate(%sgate : tensor<32x1xf16>)
         routing <scoring = softmax, k = 2>
         expert <activation = silu, gated = true>
         : (tensor<?x32xf16>, tensor<4x32x16xf16>, tensor<4x8x32xf16>) -> tensor<?x32xf16>
  return %y : tensor<?x32xf16>
}

// CHECK-LABEL: func.func @switch_relu_dynamic_experts
// CHECK: moe.layer %arg0, %arg2, %arg3 router(%arg1 : tensor<?x?xf32>) routing <scoring = softmax, k = 1> expert <activation = relu> : (tensor<?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?xf32>
func.func @switch_relu_dynamic_experts(%x: tensor<?x?xf32>, %router: tensor<?x?xf32>, %up: tensor<?x?x?xf32>, %down: tensor<?x?x?xf32>) -> tensor<?x?xf32> {
  %y = moe.layer %x, %up, %down router(%router : tensor<?x?xf32>) routing <scoring = softmax, k = 1> expert <activation = relu>
         : (tensor<?x?xf32>, tensor<?x?x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @ort_router_logits
// CHECK: moe.layer %arg0, %arg2, %arg3 logits(%arg1 : tensor<?x8xf32>) up_bias(%arg4 : tensor<8x32xf32>) routing <scoring = softmax, k = 2> expert <activation = gelu> : (tensor<?x16xf32>, tensor<8x16x32xf32>, tensor<8x32x16xf32>) -> tensor<?x16xf32>
func.func @ort_router_logits(%x: tensor<?x16xf32>, %logits: tensor<?x8xf32>, %up: tensor<8x16x32xf32>, %down: tensor<8x32x16xf32>, %ub: tensor<8x32xf32>) -> tensor<?x16xf32> {
  %y = moe.layer %x, %up, %down logits(%logits : tensor<?x8xf32>) up_bias(%ub : tensor<8x32xf32>)
         routing <scoring = softmax, k = 2> expert <activation = gelu>
         : (tensor<?x16xf32>, tensor<8x16x32xf32>, tensor<8x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
