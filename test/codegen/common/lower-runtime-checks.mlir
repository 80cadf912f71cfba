// RUN: moe-opt %s -moec-lower-runtime-checks | FileCheck %s
// A moe.check calls the runtime when its condition fails, with its message as a string
// constant and its values as i64 (0 for an absent one).

// CHECK: llvm.mlir.global private constant @moec_check_message_0("node 'n' (Gather): index {0} is out of range (size {1})\00")
// CHECK-LABEL: func.func @check
// CHECK: %[[MESSAGE:.*]] = llvm.mlir.addressof @moec_check_message_0
// CHECK: %[[TRUE:.*]] = arith.constant true
// CHECK: %[[FAILED:.*]] = arith.xori %arg0, %[[TRUE]] : i1
// CHECK: scf.if %[[FAILED]] {
// CHECK:   %[[SIZE:.*]] = arith.index_cast %arg2 : index to i64
// CHECK:   call @moec_rt_check_failed(%[[MESSAGE]], %arg1, %[[SIZE]]) : (!llvm.ptr, i64, i64) -> ()
// CHECK: }
// CHECK-NOT: moe.check
// CHECK: func.func private @moec_rt_check_failed(!llvm.ptr, i64, i64)
func.func @check(%ok: i1, %index: i64, %size: index) {
  moe.check %ok, "node 'n' (Gather): index {0} is out of range (size {1})"(%index, %size : i64, index)
  return
}
