// RUN: moe-opt %s -split-input-file \
// RUN:   '-moec-lower-moe-kernels-to-loops=threads-per-block=128 matmul-tile-rows=2 matmul-tile-columns=32' \
// RUN:   | FileCheck %s
// RUN: not moe-opt %s -split-input-file '-moec-lower-moe-kernels-to-loops=matmul-tile-rows=0' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=INVALID
// RUN: not moe-opt %s -split-input-file '-moec-lower-moe-kernels-to-loops=matmul-tile-rows=16 matmul-tile-columns=128' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TOO-MANY
// The pass's options size the blocks: threads of the one-per-item kernels, and the grouped
// matmul's tile (rows x columns threads). A size below one, or a block of over 1024
// threads (CUDA's limit), is an error.

// CHECK-LABEL: func.func @route
// CHECK: scf.parallel
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c128) step (%c1) {
func.func @route(%logits: tensor<?x8xf32>) -> tensor<?x2xf32> {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2> : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w : tensor<?x2xf32>
}

// -----

// 96 columns in tiles of 32: a grid of (rows / 2, 3) blocks of 64 threads.
// CHECK-LABEL: func.func @grouped_matmul
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %[[C3]]) step (%c1, %c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%[[C64]]) step (%c1) {
func.func @grouped_matmul(%x: tensor<?x64xf32>, %w: tensor<8x64x96xf32>, %offsets: tensor<9xi32>) -> tensor<?x96xf32> {
  %h = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x64xf32>, tensor<8x64x96xf32>, tensor<9xi32>) -> tensor<?x96xf32>
  return %h : tensor<?x96xf32>
}

// INVALID: error: moec-lower-moe-kernels-to-loops: matmul-tile-rows must be positive, not 0
// TOO-MANY: error: moec-lower-moe-kernels-to-loops: a block has at most 1024 threads (threads-per-block, matmul-tile-rows x matmul-tile-columns)
