// RUN: moe-opt %s -moec-use-runtime-gemm | FileCheck %s
// f32 matmuls and batched matmuls with contiguous rows call the runtime's GEMM; others
// keep linalg.

// CHECK-LABEL: func.func @strided_rows
// A's address is its aligned pointer plus its element offset in bytes.
// CHECK: %{{.*}}, %[[OFF:.*]], %{{.*}}:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata %arg0
// CHECK: %[[BASE:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: %[[BYTES:.*]] = arith.muli %[[OFF]], %c4
// CHECK: %[[ADDR:.*]] = arith.addi %[[BASE]], %[[BYTES]]
// CHECK: %[[ADDR64:.*]] = arith.index_cast %[[ADDR]] : index to i64
// CHECK: %[[A:.*]] = llvm.inttoptr %[[ADDR64]] : i64 to !llvm.ptr
// CHECK: %[[LDA:.*]] = arith.index_cast %[[STRIDES]]#0 : index to i64
// CHECK: %[[B:.*]] = llvm.inttoptr
// CHECK: %[[LDB:.*]] = arith.index_cast
// CHECK: %[[C:.*]] = llvm.inttoptr
// CHECK: %[[LDC:.*]] = arith.index_cast
// CHECK: %[[M:.*]] = memref.dim %arg0, %c0
// CHECK: %[[M64:.*]] = arith.index_cast %[[M]]
// CHECK: %[[N:.*]] = memref.dim %arg1, %c1
// CHECK: %[[N64:.*]] = arith.index_cast %[[N]]
// CHECK: %[[K:.*]] = memref.dim %arg0, %c1
// CHECK: %[[K64:.*]] = arith.index_cast %[[K]]
// CHECK: call @moec_rt_sgemm(%[[M64]], %[[N64]], %[[K64]], %[[A]], %[[LDA]], %[[B]], %[[LDB]], %[[C]], %[[LDC]], %c1_i32) : (i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, i32) -> ()
// CHECK-NOT: linalg.matmul
func.func @strided_rows(%a: memref<?x?xf32, strided<[?, 1], offset: ?>>, %b: memref<?x?xf32>, %c: memref<?x?xf32>) {
  linalg.matmul ins(%a, %b : memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x?xf32>) outs(%c : memref<?x?xf32>)
  return
}

// CHECK-LABEL: func.func @f16_stays
// CHECK: linalg.matmul
func.func @f16_stays(%a: memref<4x8xf16>, %b: memref<8x2xf16>, %c: memref<4x2xf16>) {
  linalg.matmul ins(%a, %b : memref<4x8xf16>, memref<8x2xf16>) outs(%c : memref<4x2xf16>)
  return
}

// CHECK-LABEL: func.func @column_strided_stays
// CHECK: linalg.matmul
func.func @column_strided_stays(%a: memref<4x8xf32, strided<[1, 4]>>, %b: memref<8x2xf32>, %c: memref<4x2xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32, strided<[1, 4]>>, memref<8x2xf32>) outs(%c : memref<4x2xf32>)
  return
}

// A batched product (attention scores: [batch, heads, seq, d] x [batch, heads, d, seq]) is
// one call per batch element, on rank-reduced subviews of each operand's matrix.
// CHECK-LABEL: func.func @batched
// CHECK: %[[BATCH:.*]] = memref.dim %arg2, %c0
// CHECK: scf.for %[[I:.*]] = %c0 to %[[BATCH]] step %c1 {
// CHECK: scf.for %[[J:.*]] = %c0 to %c4 step %c1 {
// CHECK: %[[A:.*]] = memref.subview %arg0[%[[I]], %[[J]], 0, 0] [1, 1, %{{.*}}, 8] [1, 1, 1, 1] : memref<?x4x?x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
// CHECK: %[[B:.*]] = memref.subview %arg1[%[[I]], %[[J]], 0, 0] [1, 1, 8, %{{.*}}] [1, 1, 1, 1] : memref<?x4x8x?xf32> to memref<8x?xf32, strided<[?, 1], offset: ?>>
// CHECK: %[[C:.*]] = memref.subview %arg2[%[[I]], %[[J]], 0, 0]
// CHECK: memref.extract_aligned_pointer_as_index %[[A]]
// CHECK: memref.extract_aligned_pointer_as_index %[[B]]
// CHECK: memref.extract_aligned_pointer_as_index %[[C]]
// CHECK: func.call @moec_rt_sgemm(
// CHECK-NOT: linalg.generic
#scores_lhs = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#scores_rhs = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#scores_out = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
func.func @batched(%a: memref<?x4x?x8xf32>, %b: memref<?x4x8x?xf32>, %c: memref<?x4x?x?xf32>) {
  linalg.generic {indexing_maps = [#scores_lhs, #scores_rhs, #scores_out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : memref<?x4x?x8xf32>, memref<?x4x8x?xf32>) outs(%c : memref<?x4x?x?xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A transposed right-hand side (b, n, k), which the kernel does not take, stays a loop.
// CHECK-LABEL: func.func @transposed_rhs_stays
// CHECK: linalg.generic
#transposed_rhs = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#batch_lhs = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#batch_out = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
func.func @transposed_rhs_stays(%a: memref<2x4x8xf32>, %b: memref<2x3x8xf32>, %c: memref<2x4x3xf32>) {
  linalg.generic {indexing_maps = [#batch_lhs, #transposed_rhs, #batch_out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : memref<2x4x8xf32>, memref<2x3x8xf32>) outs(%c : memref<2x4x3xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A batch dimension that one operand lacks (a broadcast weight) stays a loop too.
// CHECK-LABEL: func.func @broadcast_rhs_stays
// CHECK: linalg.generic
#broadcast_rhs = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
func.func @broadcast_rhs_stays(%a: memref<2x4x8xf32>, %b: memref<8x3xf32>, %c: memref<2x4x3xf32>) {
  linalg.generic {indexing_maps = [#batch_lhs, #broadcast_rhs, #batch_out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%a, %b : memref<2x4x8xf32>, memref<8x3xf32>) outs(%c : memref<2x4x3xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK: func.func private @moec_rt_sgemm(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, i32)
