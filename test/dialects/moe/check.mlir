// RUN: moe-opt %s | moe-opt | FileCheck %s
// RUN: moe-opt %s -canonicalize | FileCheck %s --check-prefix=CANON
// moe.check round-trips; a check of the constant true folds away, others stay.

// CHECK-LABEL: func.func @checks
// CHECK: moe.check %arg0, "node 'n' (Gather): index {0} is out of range (size {1})"(%arg1, %arg2 : i64, index)
// CHECK: moe.check %arg0, "sizes differ"
// CANON-LABEL: func.func @checks
// CANON-COUNT-2: moe.check %arg0
// CANON-NOT: moe.check
func.func @checks(%ok: i1, %index: i64, %size: index) {
  moe.check %ok, "node 'n' (Gather): index {0} is out of range (size {1})"(%index, %size : i64, index)
  moe.check %ok, "sizes differ"
  %true = arith.constant true
  moe.check %true, "never fails"
  return
}
