// RUN: moe-opt %s -split-input-file -moec-generate-entry-point -verify-diagnostics | FileCheck %s
// moec_model_run loads each input descriptor through inputs[i], calls the entry function and
// stores each result descriptor through outputs[i].

// CHECK-LABEL: func.func @moec_model_run
// CHECK-SAME: (%[[IN:.*]]: !llvm.ptr, %[[OUT:.*]]: !llvm.ptr)
// CHECK: %[[SLOT0:.*]] = llvm.getelementptr %[[IN]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[P0:.*]] = llvm.load %[[SLOT0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[D0:.*]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: %[[M0:.*]] = builtin.unrealized_conversion_cast %[[D0]] : {{.*}} to memref<?x4xf32>
// CHECK: %[[SLOT1:.*]] = llvm.getelementptr %[[IN]][1]
// CHECK: %[[P1:.*]] = llvm.load %[[SLOT1]]
// CHECK: %[[D1:.*]] = llvm.load %[[P1]] : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64)>
// CHECK: %[[M1:.*]] = builtin.unrealized_conversion_cast %[[D1]] : {{.*}} to memref<i64>
// CHECK: %[[R:.*]]:2 = call @moec_model_entry(%[[M0]], %[[M1]])
// CHECK: %[[RD0:.*]] = builtin.unrealized_conversion_cast %[[R]]#0 : memref<?x3xf32> to !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: %[[OSLOT0:.*]] = llvm.getelementptr %[[OUT]][0]
// CHECK: %[[OP0:.*]] = llvm.load %[[OSLOT0]]
// CHECK: llvm.store %[[RD0]], %[[OP0]]
// CHECK: %[[RD1:.*]] = builtin.unrealized_conversion_cast %[[R]]#1 : memref<1xi32> to !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// CHECK: llvm.getelementptr %[[OUT]][1]
// CHECK: llvm.store %[[RD1]]
func.func @main(%x: memref<?x4xf32>, %s: memref<i64>) -> (memref<?x3xf32>, memref<1xi32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %a = memref.alloc(%n) : memref<?x3xf32>
  %b = memref.alloc() : memref<1xi32>
  return %a, %b : memref<?x3xf32>, memref<1xi32>
}

// -----

// expected-error @+1 {{entry function must take and return memrefs with the identity layout, found 'memref<4xf32, strided<[2]>>'}}
func.func @main(%x: memref<4xf32, strided<[2]>>) { return }

// -----

// expected-error @+1 {{no entry function 'main' to wrap}}
module {}
