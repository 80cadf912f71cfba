// RUN: moe-opt %s -moec-use-runtime-gemm | FileCheck %s
// f32 matmuls with contiguous rows call the runtime's GEMM; others keep linalg.

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

// CHECK: func.func private @moec_rt_sgemm(i64, i64, i64, !llvm.ptr, i64, !llvm.ptr, i64, !llvm.ptr, i64, i32)
