// RUN: moe-opt %s -moec-lower-grouped-matmul-to-gemv -split-input-file | FileCheck %s
// RUN: moe-opt %s -moec-lower-grouped-matmul-to-gemv=k-splits=3 -split-input-file | FileCheck %s --check-prefix=SPLITS
// Decode-sized grouped matmuls become a split-K loop nest that streams the weights in
// 16-byte vectors and an epilogue nest; one behaviour per case.

// One token, top-2 of 4 experts: an expert expects 1 row. Split-K grid over (expert,
// split, column block): 64 bf16 columns are 8 vectors, one block of 32 threads (a warp);
// 2 busy experts x 1 column block fill 528 blocks with 264 splits, capped at K / 32 = 8
// (chunks of 32). Each thread reads its K chunk in 16-byte vectors of a weight row and
// keeps one f32 vector per row of a pass (1 row here) in registers, then stores it into
// the workspace [splits, rows, N]. The epilogue nest sums the 8 partials per element.
// CHECK-LABEL: func.func @decode
// CHECK: %[[IDS:.*]] = bufferization.to_buffer %sorted_ids read_only
// CHECK: %[[ROWS:.*]] = memref.dim %[[IDS]], %c0
// CHECK: %[[PARTIALS:.*]] = memref.alloc(%[[ROWS]]) : memref<8x?x64xf32>
// CHECK: %[[RESULT:.*]] = memref.alloc(%[[ROWS]]) : memref<?x32xbf16>
// CHECK: scf.parallel (%[[E:.*]], %[[SPLIT:.*]], %{{.*}}) = (%c0, %c0, %c0) to (%c4, %c8, %c1)
// CHECK:   scf.parallel (%{{.*}}) = (%c0) to (%c32)
// CHECK:     scf.if
// CHECK:       scf.for %[[ROW:.*]] = %{{.*}} to %{{.*}} step %c1 {
// CHECK:         %[[SUM:.*]] = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %c1 iter_args(%[[ACC:.*]] = %{{.*}}) -> (vector<8xf32>) {
// CHECK:           %[[W:.*]] = vector.load %{{.*}}[%[[E]], %[[K]], %[[COLUMN:.*]]] {alignment = 16 : i64} : memref<4x256x64xbf16>, vector<8xbf16>
// CHECK:           %[[WF:.*]] = arith.extf %[[W]] : vector<8xbf16> to vector<8xf32>
// CHECK:           %[[XS:.*]] = vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK:           vector.fma %[[XS]], %[[WF]], %[[ACC]] : vector<8xf32>
// CHECK:         scf.if
// CHECK-NEXT:      vector.store %[[SUM]], %[[PARTIALS]][%[[SPLIT]], %[[ROW]], %[[COLUMN]]] {alignment = 16 : i64}
// CHECK: scf.parallel (%[[R:.*]], %{{.*}}) = (%c0, %c0) to (%[[ROWS]], %c1)
// CHECK:   scf.parallel (%{{.*}}) = (%c0) to (%c256)
// CHECK:     scf.for %{{.*}} = %c0 to %c8 step %c1 iter_args
// CHECK:       memref.load %[[PARTIALS]][%{{.*}}, %[[R]], %{{.*}}] : memref<8x?x64xf32>
// CHECK:     math.exp
// CHECK: bufferization.to_tensor %[[RESULT]] restrict writable
// SPLITS-LABEL: func.func @decode
// SPLITS: memref.alloc(%{{.*}}) : memref<3x?x64xf32>
// SPLITS: scf.parallel {{.*}} to (%c4, %c3, %c1)
func.func @decode(%x: tensor<1x256xbf16>, %ids: tensor<1x2xi32>, %w: tensor<4x256x64xbf16>,
                  %b: tensor<4x64xbf16>) -> tensor<?x32xbf16> {
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<1x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %y = moe.grouped_matmul %x, %w offsets %offsets gather %sorted, rows_per_token 2
         bias(%b : tensor<4x64xbf16>) expert <activation = silu, gated = true>
         : (tensor<1x256xbf16>, tensor<4x256x64xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// 24 slots over 4 experts: 6 rows each, all accumulated in one pass (6 f32 vectors of 4
// columns per thread, within the budget of 64 registers) of 16-byte f32 vectors.
// CHECK-LABEL: func.func @rows_per_pass
// CHECK: scf.for %{{.*}} step %c6 {
// CHECK: iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK: vector.load {{.*}} : memref<4x64x32xf32>, vector<4xf32>
// CHECK-COUNT-6: vector.fma
// CHECK-NOT: vector.fma
// CHECK: scf.yield
func.func @rows_per_pass(%x: tensor<24x64xf32>, %w: tensor<4x64x32xf32>,
                         %offsets: tensor<5xi32>) -> tensor<24x32xf32> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<24x64xf32>, tensor<4x64x32xf32>, tensor<5xi32>) -> tensor<24x32xf32>
  return %y : tensor<24x32xf32>
}

// -----

// 64 slots over 2 experts: 32 rows each is more than a decode; left to the other lowerings.
// CHECK-LABEL: func.func @prefill
// CHECK: moe.grouped_matmul
func.func @prefill(%x: tensor<64x64xf32>, %w: tensor<2x64x32xf32>,
                   %offsets: tensor<3xi32>) -> tensor<64x32xf32> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<64x64xf32>, tensor<2x64x32xf32>, tensor<3xi32>) -> tensor<64x32xf32>
  return %y : tensor<64x32xf32>
}

// -----

// 12 bf16 columns do not split into 16-byte vectors: left alone.
// CHECK-LABEL: func.func @odd_columns
// CHECK: moe.grouped_matmul
func.func @odd_columns(%x: tensor<4x64xbf16>, %w: tensor<4x64x12xbf16>,
                       %offsets: tensor<5xi32>) -> tensor<4x12xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<4x64xbf16>, tensor<4x64x12xbf16>, tensor<5xi32>) -> tensor<4x12xbf16>
  return %y : tensor<4x12xbf16>
}
