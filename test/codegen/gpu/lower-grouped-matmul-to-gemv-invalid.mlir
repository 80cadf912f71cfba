// RUN: not moe-opt %s -moec-lower-grouped-matmul-to-gemv=max-rows-per-expert=0 2>&1 | FileCheck %s
// CHECK: moec-lower-grouped-matmul-to-gemv: max-rows-per-expert must be positive, not 0
func.func @f() {
  return
}
