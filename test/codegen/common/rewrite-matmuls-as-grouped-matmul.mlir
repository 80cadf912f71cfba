// RUN: moe-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(moec-rewrite-matmuls-as-grouped-matmul))' | FileCheck %s

// A zero-initialized bf16 matmul is one expert over all rows.
// CHECK-LABEL: func.func @bf16_matmul
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xbf16>, %[[W:.*]]: tensor<64x32xbf16>)
// CHECK: %[[W3:.*]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1], [2]] output_shape [1, 64, 32] : tensor<64x32xbf16> into tensor<1x64x32xbf16>
// CHECK: %[[ROWS:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[ROWS32:.*]] = arith.index_cast %[[ROWS]] : index to i32
// CHECK: %[[OFFSETS:.*]] = tensor.from_elements %c0_i32, %[[ROWS32]] : tensor<2xi32>
// CHECK: %[[Y:.*]] = moe.grouped_matmul %[[X]], %[[W3]] offsets %[[OFFSETS]] : (tensor<?x64xbf16>, tensor<1x64x32xbf16>, tensor<2xi32>) -> tensor<?x32xbf16>
// CHECK-NOT: linalg.matmul
// CHECK: return %[[Y]]
func.func @bf16_matmul(%x: tensor<?x64xbf16>, %w: tensor<64x32xbf16>) -> tensor<?x32xbf16> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : bf16
  %rows = tensor.dim %x, %c0 : tensor<?x64xbf16>
  %empty = tensor.empty(%rows) : tensor<?x32xbf16>
  %init = linalg.fill ins(%zero : bf16) outs(%empty : tensor<?x32xbf16>) -> tensor<?x32xbf16>
  %y = linalg.matmul ins(%x, %w : tensor<?x64xbf16>, tensor<64x32xbf16>) outs(%init : tensor<?x32xbf16>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// A batch matmul with a static batch: one expert per batch element, rows stacked.
// CHECK-LABEL: func.func @f16_batch_matmul
// CHECK-SAME: (%[[A:.*]]: tensor<3x?x16xf16>, %[[B:.*]]: tensor<3x16x8xf16>)
// CHECK: %[[STACKED:.*]] = tensor.collapse_shape %[[A]] {{\[\[}}0, 1], [2]] : tensor<3x?x16xf16> into tensor<?x16xf16>
// CHECK: %[[ROWS:.*]] = tensor.dim %[[A]], %c1
// CHECK: %[[ROWS32:.*]] = arith.index_cast %[[ROWS]] : index to i32
// CHECK: %[[TWO:.*]] = arith.muli %[[ROWS32]], %c2_i32
// CHECK: %[[THREE:.*]] = arith.muli %[[ROWS32]], %c3_i32
// CHECK: %[[OFFSETS:.*]] = tensor.from_elements %c0_i32, %[[ROWS32]], %[[TWO]], %[[THREE]] : tensor<4xi32>
// CHECK: %[[P:.*]] = moe.grouped_matmul %[[STACKED]], %[[B]] offsets %[[OFFSETS]] : (tensor<?x16xf16>, tensor<3x16x8xf16>, tensor<4xi32>) -> tensor<?x8xf16>
// CHECK: tensor.expand_shape %[[P]] {{\[\[}}0, 1], [2]] output_shape [3, %[[ROWS]], 8] : tensor<?x8xf16> into tensor<3x?x8xf16>
// CHECK-NOT: linalg.batch_matmul
func.func @f16_batch_matmul(%a: tensor<3x?x16xf16>, %b: tensor<3x16x8xf16>) -> tensor<3x?x8xf16> {
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f16
  %rows = tensor.dim %a, %c1 : tensor<3x?x16xf16>
  %empty = tensor.empty(%rows) : tensor<3x?x8xf16>
  %init = linalg.fill ins(%zero : f16) outs(%empty : tensor<3x?x8xf16>) -> tensor<3x?x8xf16>
  %c = linalg.batch_matmul ins(%a, %b : tensor<3x?x16xf16>, tensor<3x16x8xf16>) outs(%init : tensor<3x?x8xf16>) -> tensor<3x?x8xf16>
  return %c : tensor<3x?x8xf16>
}

// -----

// f32 matmuls, a non-zero accumulator and a dynamic batch stay as they are.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: moe.grouped_matmul
// CHECK: linalg.matmul ins({{.*}} : tensor<4x8xf32>, tensor<8x2xf32>)
// CHECK: linalg.matmul ins({{.*}} : tensor<4x8xbf16>, tensor<8x2xbf16>)
// CHECK: linalg.batch_matmul
func.func @left_alone(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>, %xb: tensor<4x8xbf16>,
                      %wb: tensor<8x2xbf16>, %acc: tensor<4x2xbf16>, %a: tensor<?x4x8xbf16>,
                      %b: tensor<?x8x2xbf16>)
    -> (tensor<4x2xf32>, tensor<4x2xbf16>, tensor<?x4x2xbf16>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %zerob = arith.constant 0.0 : bf16
  %empty = tensor.empty() : tensor<4x2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x2xf32>) -> tensor<4x2xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x2xf32>) outs(%init : tensor<4x2xf32>) -> tensor<4x2xf32>
  %yb = linalg.matmul ins(%xb, %wb : tensor<4x8xbf16>, tensor<8x2xbf16>) outs(%acc : tensor<4x2xbf16>) -> tensor<4x2xbf16>
  %batch = tensor.dim %a, %c0 : tensor<?x4x8xbf16>
  %emptyb = tensor.empty(%batch) : tensor<?x4x2xbf16>
  %initb = linalg.fill ins(%zerob : bf16) outs(%emptyb : tensor<?x4x2xbf16>) -> tensor<?x4x2xbf16>
  %c = linalg.batch_matmul ins(%a, %b : tensor<?x4x8xbf16>, tensor<?x8x2xbf16>) outs(%initb : tensor<?x4x2xbf16>) -> tensor<?x4x2xbf16>
  return %y, %yb, %c : tensor<4x2xf32>, tensor<4x2xbf16>, tensor<?x4x2xbf16>
}

// -----

// A contraction with two batch dims (an ONNX MatMul of 4-D operands) is left as it is.
// CHECK-LABEL: func.func @f16_two_batch_dims
// CHECK-NOT: moe.grouped_matmul
// CHECK-NOT: tensor.collapse_shape
// CHECK: return
#lhs = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#rhs = affine_map<(b, h, m, n, k) -> (b, h, k, n)>
#out = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
func.func @f16_two_batch_dims(%a: tensor<2x3x4x8xf16>, %b: tensor<2x3x8x6xf16>) -> tensor<2x3x4x6xf16> {
  %zero = arith.constant 0.0 : f16
  %empty = tensor.empty() : tensor<2x3x4x6xf16>
  %init = linalg.fill ins(%zero : f16) outs(%empty : tensor<2x3x4x6xf16>) -> tensor<2x3x4x6xf16>
  %y = linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : tensor<2x3x4x8xf16>, tensor<2x3x8x6xf16>) outs(%init : tensor<2x3x4x6xf16>) {
  ^bb0(%x: f16, %w: f16, %acc: f16):
    %p = arith.mulf %x, %w : f16
    %s = arith.addf %acc, %p : f16
    linalg.yield %s : f16
  } -> tensor<2x3x4x6xf16>
  return %y : tensor<2x3x4x6xf16>
}
