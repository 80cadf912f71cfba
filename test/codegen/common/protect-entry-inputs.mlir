// RUN: moe-opt %s -moec-protect-entry-inputs | FileCheck %s
// RUN: moe-opt %s -moec-protect-entry-inputs -one-shot-bufferize="bufferize-function-boundaries" | FileCheck %s --check-prefix=BUF

// CHECK: func.func @main(%arg0: tensor<4xf32> {bufferization.writable = false})
// An update in place of an input now works on a copy.
// BUF-LABEL: func.func @main
// BUF: %[[COPY:.*]] = memref.alloc
// BUF: memref.copy %arg0, %[[COPY]]
// BUF: linalg.generic {{.*}} outs(%[[COPY]]
func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} outs(%x : tensor<4xf32>) {
  ^bb0(%out: f32):
    %1 = arith.addf %out, %out : f32
    linalg.yield %1 : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
