// RUN: moe-opt %s -moec-lower-moe-kernels-to-runtime -split-input-file | FileCheck %s
// Each kernel-level moe op becomes one call into the runtime: operands as pointers into
// read-only buffers, results as fresh buffers the kernel fills, sizes as i64, attributes
// as constants.

// CHECK-LABEL: func.func @route
// CHECK-SAME: (%[[LOGITS:.*]]: tensor<?x8xf32>, %[[BIAS:.*]]: tensor<8xf32>)
// CHECK-DAG: %[[SCALE:.*]] = arith.constant 2.500000e+00 : f32
// CHECK-DAG: %[[EPSILON:.*]] = arith.constant 1.250000e-01 : f32
// CHECK-DAG: %[[JITTER_EPS:.*]] = arith.constant 0.00999999977 : f32
// CHECK-DAG: %[[N_GROUP:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[FALSE:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[SIGMOID_TRUE:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[K:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[E:.*]] = arith.constant 8 : i64
// CHECK: %[[T:.*]] = tensor.dim %[[LOGITS]], %c0
// CHECK: %[[T64:.*]] = arith.index_cast %[[T]] : index to i64
// CHECK: %[[LOGITS_BUF:.*]] = bufferization.to_buffer %[[LOGITS]] read_only : tensor<?x8xf32> to memref<?x8xf32>
// CHECK: memref.extract_aligned_pointer_as_index %[[LOGITS_BUF]]
// CHECK: %[[LOGITS_PTR:.*]] = llvm.inttoptr
// CHECK: bufferization.to_buffer %[[BIAS]] read_only
// CHECK: %[[BIAS_PTR:.*]] = llvm.inttoptr
// CHECK: %[[WEIGHTS:.*]] = memref.alloc(%[[T]]) : memref<?x2xf32>
// CHECK: %[[WEIGHTS_PTR:.*]] = llvm.inttoptr
// CHECK: %[[IDS:.*]] = memref.alloc(%[[T]]) : memref<?x2xi32>
// CHECK: %[[IDS_PTR:.*]] = llvm.inttoptr
// CHECK: call @moec_rt_moe_route_f32(%[[T64]], %[[E]], %[[LOGITS_PTR]], %[[BIAS_PTR]], %[[K]], %[[SIGMOID_TRUE]], %[[SIGMOID_TRUE]], %[[EPSILON]], %[[FALSE]], %[[N_GROUP]], %[[K]], %[[SIGMOID_TRUE]], %[[SCALE]], %[[JITTER_EPS]], %[[WEIGHTS_PTR]], %[[IDS_PTR]])
// CHECK: %[[W:.*]] = bufferization.to_tensor %[[WEIGHTS]] restrict writable : memref<?x2xf32> to tensor<?x2xf32>
// CHECK: %[[I:.*]] = bufferization.to_tensor %[[IDS]] restrict writable : memref<?x2xi32> to tensor<?x2xi32>
// CHECK: return %[[W]], %[[I]]
// CHECK: func.func private @moec_rt_moe_route_f32(i64, i64, !llvm.ptr, !llvm.ptr, i64, i32, i32, f32, i32, i64, i64, i32, f32, f32, !llvm.ptr, !llvm.ptr)
func.func @route(%logits: tensor<?x8xf32>, %bias: tensor<8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = moe.route %logits score_bias(%bias : tensor<8xf32>)
               routing <scoring = sigmoid, k = 2, renormalize = true, n_group = 4, topk_group = 2, routed_scaling_factor = 2.5, renormalize_epsilon = 0.125, zero_masked_groups = true>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Without a score bias the kernel gets a null pointer.
// CHECK-LABEL: func.func @route_without_bias
// CHECK: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: call @moec_rt_moe_route_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[NULL]],
func.func @route_without_bias(%logits: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 1> : tensor<4x8xf32> -> tensor<4x1xf32>, tensor<4x1xi32>
  return %w : tensor<4x1xf32>
}

// -----

// sparse_mixer scoring is the runtime's MOEC_RT_SCORING_SPARSE_MIXER, 2; its jitter_eps
// comes after the routed scaling factor.
// CHECK-LABEL: func.func @route_sparse_mixer
// CHECK-DAG: %[[FALSE:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[SPARSE_MIXER:.*]] = arith.constant 2 : i32
// CHECK-DAG: %[[JITTER_EPS:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: call @moec_rt_moe_route_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[SPARSE_MIXER]], %[[FALSE]], %{{.*}}, %[[FALSE]], %{{.*}}, %{{.*}}, %{{.*}}, %[[JITTER_EPS]],
func.func @route_sparse_mixer(%logits: tensor<4x8xf32>) -> tensor<4x2xf32> {
  %w, %ids = moe.route %logits routing <scoring = sparse_mixer, k = 2, jitter_eps = 0.0> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w : tensor<4x2xf32>
}

// -----

// The sorted layout's length is T * k + E * (block_size - 1).
// CHECK-LABEL: func.func @permute
// CHECK-DAG: %[[PADDING:.*]] = arith.constant 24 : index
// CHECK-DAG: %[[K:.*]] = arith.constant 2 : index
// CHECK: %[[T:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[PAIRS:.*]] = arith.muli %[[T]], %[[K]] : index
// CHECK: %[[SLOTS:.*]] = arith.addi %[[PAIRS]], %[[PADDING]] : index
// CHECK: %[[SORTED:.*]] = memref.alloc(%[[SLOTS]]) : memref<?xi32>
// CHECK: %[[OFFSETS:.*]] = memref.alloc() : memref<9xi32>
// CHECK: call @moec_rt_moe_permute({{.*}}) : (i64, i64, !llvm.ptr, i64, i64, i64, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: bufferization.to_tensor %[[SORTED]] restrict writable : memref<?xi32> to tensor<?xi32>
// CHECK: bufferization.to_tensor %[[OFFSETS]] restrict writable : memref<9xi32> to tensor<9xi32>
func.func @permute(%ids: tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>) {
  %sorted, %offsets = moe.permute %ids experts 8 block 4 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  return %sorted, %offsets : tensor<?xi32>, tensor<9xi32>
}

// -----

// The gathering, gated up projection: activation silu (3), gated, alpha and limit.
// CHECK-LABEL: func.func @grouped_matmul_gathered
// CHECK-DAG: %[[ROWS_PER_TOKEN:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[SILU:.*]] = arith.constant 3 : i32
// CHECK-DAG: %[[GATED:.*]] = arith.constant 1 : i32
// CHECK-DAG: %[[ALPHA:.*]] = arith.constant 1.702000e+00 : f32
// CHECK-DAG: %[[LIMIT:.*]] = arith.constant 7.000000e+00 : f32
// CHECK: %[[ROWS:.*]] = tensor.dim %arg2, %c0
// CHECK: %[[OUT:.*]] = memref.alloc(%[[ROWS]]) : memref<?x128xf32>
// CHECK: call @moec_rt_moe_grouped_matmul_f32({{.*}}, %[[ROWS_PER_TOKEN]], {{.*}}, %[[SILU]], %[[GATED]], %[[ALPHA]], %[[LIMIT]], %{{.*}}) : (i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i32, f32, f32, !llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr) -> ()
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable : memref<?x128xf32> to tensor<?x128xf32>
func.func @grouped_matmul_gathered(%x: tensor<?x64xf32>, %w: tensor<8x64x256xf32>, %sorted: tensor<?xi32>,
                                   %offsets: tensor<9xi32>) -> tensor<?x128xf32> {
  %h = moe.grouped_matmul %x, %w offsets %offsets gather %sorted, rows_per_token 2 expert <activation = silu, gated = true>
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xf32>
  return %h : tensor<?x128xf32>
}

// -----

// The down projection: sorted input (null ids), a bias, no activation (-1).
// CHECK-LABEL: func.func @grouped_matmul_sorted
// CHECK-DAG: %[[NONE:.*]] = arith.constant -1 : i32
// CHECK-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: bufferization.to_buffer %arg3 read_only : tensor<8x64xf32> to memref<8x64xf32>
// CHECK: %[[BIAS:.*]] = llvm.inttoptr
// CHECK: call @moec_rt_moe_grouped_matmul_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NULL]], %{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]], %[[NONE]],
func.func @grouped_matmul_sorted(%h: tensor<?x128xf32>, %w: tensor<8x128x64xf32>, %offsets: tensor<9xi32>,
                                 %bias: tensor<8x64xf32>) -> tensor<?x64xf32> {
  %out = moe.grouped_matmul %h, %w offsets %offsets bias(%bias : tensor<8x64xf32>)
           : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
  return %out : tensor<?x64xf32>
}

// -----

// The combining down projection: the pairs' ids, their weights, the tokens and k follow the
// epilogue's parameters, and the result has a row per token.
// CHECK-LABEL: func.func @grouped_matmul_combine
// CHECK-DAG: %[[K:.*]] = arith.constant 2 : i64
// CHECK: %[[T:.*]] = tensor.dim %arg4, %c0
// CHECK: bufferization.to_buffer %arg3 read_only : tensor<?xi32> to memref<?xi32>
// CHECK: bufferization.to_buffer %arg4 read_only : tensor<?x2xf32> to memref<?x2xf32>
// CHECK: %[[T_I64:.*]] = arith.index_cast %[[T]] : index to i64
// CHECK: %[[Y:.*]] = memref.alloc(%[[T]]) : memref<?x64xf32>
// CHECK: call @moec_rt_moe_grouped_matmul_f32({{.*}}, %[[T_I64]], %[[K]], %{{.*}}) : (i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i32, f32, f32, !llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr) -> ()
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
func.func @grouped_matmul_combine(%h: tensor<?x128xf32>, %w: tensor<8x128x64xf32>, %offsets: tensor<9xi32>,
                                  %sorted: tensor<?xi32>, %weights: tensor<?x2xf32>) -> tensor<?x64xf32> {
  %y = moe.grouped_matmul %h, %w offsets %offsets combine(%sorted, %weights : tensor<?xi32>, tensor<?x2xf32>)
         : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// int8 weights: 8 bits, the scales and their number of groups follow the weights, and
// no zero points (null).
// CHECK-LABEL: func.func @grouped_matmul_int8
// CHECK-DAG: %[[NULL:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK-DAG: %[[BITS:.*]] = arith.constant 8 : i32
// CHECK-DAG: %[[GROUPS:.*]] = arith.constant 2 : i64
// CHECK: bufferization.to_buffer %arg1 read_only : tensor<8x64x32xi8> to memref<8x64x32xi8>
// CHECK: bufferization.to_buffer %arg3 read_only : tensor<8x2x32xf32> to memref<8x2x32xf32>
// CHECK: call @moec_rt_moe_grouped_matmul_quantized_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BITS]], %{{.*}}, %[[GROUPS]], %[[NULL]], %{{.*}}) : (i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, i32, i32, f32, f32, !llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr) -> ()
func.func @grouped_matmul_int8(%x: tensor<?x64xf32>, %w: tensor<8x64x32xi8>, %offsets: tensor<9xi32>,
                               %s: tensor<8x2x32xf32>) -> tensor<?x32xf32> {
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<8x2x32xf32>)
         : (tensor<?x64xf32>, tensor<8x64x32xi8>, tensor<9xi32>) -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

// Constant int4 weights are packed two rows per byte, the even row in the low nibble:
// rows (1, -2) -> 0xE1 = -31, (7, -8) -> 0x87 = -121, and an odd last row alone (3).
// CHECK-LABEL: func.func @grouped_matmul_int4
// CHECK-DAG: %[[PACKED:.*]] = arith.constant dense<{{\[\[\[}}-31, -121], [3, 0]]]> : tensor<1x2x2xi8>
// CHECK-DAG: %[[BITS:.*]] = arith.constant 4 : i32
// CHECK: bufferization.to_buffer %[[PACKED]] read_only : tensor<1x2x2xi8> to memref<1x2x2xi8>
// CHECK: call @moec_rt_moe_grouped_matmul_quantized_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BITS]],
func.func @grouped_matmul_int4(%x: tensor<?x3xf32>, %offsets: tensor<2xi32>,
                               %s: tensor<1x1x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[[1, 7], [-2, -8], [3, 0]]]> : tensor<1x3x2xi4>
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<1x1x2xf32>)
         : (tensor<?x3xf32>, tensor<1x3x2xi4>, tensor<2xi32>) -> tensor<?x2xf32>
  return %h : tensor<?x2xf32>
}

// -----

// Constant ui4 weights are packed as i4 ones are (rows (1, 14) -> 0xE1 = -31), and so are
// their zero points, two groups per byte ((3, 15) -> 0xF3 = -13, (9, 0) -> 9), passed
// after the number of groups.
// CHECK-LABEL: func.func @grouped_matmul_uint4_zero_points
// CHECK-DAG: %[[PACKED:.*]] = arith.constant dense<{{\[\[\[}}-31, 0], [0, 0]]]> : tensor<1x2x2xi8>
// CHECK-DAG: %[[ZP:.*]] = arith.constant dense<{{\[\[\[}}-13, 9]]]> : tensor<1x1x2xi8>
// CHECK-DAG: bufferization.to_buffer %[[PACKED]] read_only
// CHECK-DAG: bufferization.to_buffer %[[ZP]] read_only : tensor<1x1x2xi8> to memref<1x1x2xi8>
// CHECK: %[[ZPTR:.*]] = llvm.inttoptr
// CHECK: call @moec_rt_moe_grouped_matmul_quantized_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ZPTR]],
func.func @grouped_matmul_uint4_zero_points(%x: tensor<?x4xf32>, %offsets: tensor<2xi32>,
                                            %s: tensor<1x2x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[[1, 0], [14, 0], [0, 0], [0, 0]]]> : tensor<1x4x2xui4>
  %z = arith.constant dense<[[[3, 9], [15, 0]]]> : tensor<1x2x2xui4>
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<1x2x2xf32>)
         zero_points(%z : tensor<1x2x2xui4>)
         : (tensor<?x4xf32>, tensor<1x4x2xui4>, tensor<2xi32>) -> tensor<?x2xf32>
  return %h : tensor<?x2xf32>
}

// -----

// Constant ui8 weights and zero points are passed as the same bytes, i8.
// CHECK-LABEL: func.func @grouped_matmul_uint8_zero_points
// CHECK-DAG: arith.constant dense<{{\[\[\[}}-1, 1]]]> : tensor<1x1x2xi8>
// CHECK-DAG: arith.constant dense<{{\[\[\[}}-128, 127]]]> : tensor<1x1x2xi8>
// CHECK: call @moec_rt_moe_grouped_matmul_quantized_f32(
func.func @grouped_matmul_uint8_zero_points(%x: tensor<?x1xf32>, %offsets: tensor<2xi32>,
                                            %s: tensor<1x1x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[[255, 1]]]> : tensor<1x1x2xui8>
  %z = arith.constant dense<[[[128, 127]]]> : tensor<1x1x2xui8>
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<1x1x2xf32>)
         zero_points(%z : tensor<1x1x2xui8>)
         : (tensor<?x1xf32>, tensor<1x1x2xui8>, tensor<2xi32>) -> tensor<?x2xf32>
  return %h : tensor<?x2xf32>
}

// -----

// Constant fp8 weights are passed as the same bytes (1.0 is 0x38 = 56, -2.0 0xC0 = -64),
// with their block scales and the number of blocks of rows and of columns.
// CHECK-LABEL: func.func @grouped_matmul_fp8
// CHECK-DAG: %[[BYTES:.*]] = arith.constant dense<{{\[\[\[}}56, -64]]]> : tensor<1x1x2xi8>
// CHECK-DAG: %[[ROWS:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[COLUMNS:.*]] = arith.constant 2 : i64
// CHECK: bufferization.to_buffer %[[BYTES]] read_only
// CHECK: call @moec_rt_moe_grouped_matmul_fp8_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ROWS]], %[[COLUMNS]], %{{.*}}) : (i64, i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr, i32, i32, f32, f32, !llvm.ptr, !llvm.ptr, i64, i64, !llvm.ptr) -> ()
func.func @grouped_matmul_fp8(%x: tensor<?x1xf32>, %offsets: tensor<2xi32>,
                              %s: tensor<1x1x2xf32>) -> tensor<?x2xf32> {
  %w = arith.constant dense<[[[1.0, -2.0]]]> : tensor<1x1x2xf8E4M3FN>
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<1x1x2xf32>)
         : (tensor<?x1xf32>, tensor<1x1x2xf8E4M3FN>, tensor<2xi32>) -> tensor<?x2xf32>
  return %h : tensor<?x2xf32>
}

// -----

// CHECK-LABEL: func.func @unpermute
// CHECK: %[[T:.*]] = tensor.dim %arg2, %c0
// CHECK: %[[Y:.*]] = memref.alloc(%[[T]]) : memref<?x64xf32>
// CHECK: call @moec_rt_moe_unpermute_f32({{.*}}) : (i64, i64, i64, i64, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: bufferization.to_tensor %[[Y]] restrict writable
func.func @unpermute(%out: tensor<?x64xf32>, %sorted: tensor<?xi32>, %w: tensor<?x2xf32>) -> tensor<?x64xf32> {
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// sqrt_softplus scoring is the runtime's MOEC_RT_SCORING_SQRT_SOFTPLUS, 3.
// CHECK-LABEL: func.func @route_sqrt_softplus
// CHECK-DAG: %[[SQRT_SOFTPLUS:.*]] = arith.constant 3 : i32
// CHECK: call @moec_rt_moe_route_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[SQRT_SOFTPLUS]],
func.func @route_sqrt_softplus(%logits: tensor<4x8xf32>) -> tensor<4x2xf32> {
  %w, %ids = moe.route %logits routing <scoring = sqrt_softplus, k = 2, renormalize = true> : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi32>
  return %w : tensor<4x2xf32>
}
