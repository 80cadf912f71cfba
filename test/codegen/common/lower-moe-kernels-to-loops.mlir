// RUN: moe-opt %s -moec-lower-moe-kernels-to-loops -split-input-file | FileCheck %s
// Every kernel-level moe op becomes GPU-shaped loop nests on buffers: an outer
// scf.parallel over blocks around an inner one over a constant number of threads, the
// remainder guarded by scf.if, results in fresh buffers returned as tensors.

// moe.route: one nest, a thread per token; the top-k list lives in loop-carried values
// (two keys and two ids for k = 2), never in memory.
// CHECK-LABEL: func.func @route
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[LOGITS:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<?x8xf32> to memref<?x8xf32>
// CHECK: %[[T:.*]] = memref.dim %[[LOGITS]], %c0
// CHECK: %[[WEIGHTS:.*]] = memref.alloc(%[[T]]) : memref<?x2xf32>
// CHECK: %[[IDS:.*]] = memref.alloc(%[[T]]) : memref<?x2xi32>
// CHECK: scf.parallel (%[[BLOCK:.*]]) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT: scf.parallel (%[[THREAD:.*]]) = (%c0) to (%[[C256]]) step (%c1) {
// CHECK: %[[TOKEN:.*]] = arith.addi %{{.*}}, %[[THREAD]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[TOKEN]], %[[T]]
// CHECK: scf.if %[[IN]] {
// CHECK-NOT: memref.alloca
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, index, index)
// CHECK: memref.store {{.*}}, %[[WEIGHTS]][%[[TOKEN]], %c0]
// CHECK: memref.store {{.*}}, %[[IDS]][%[[TOKEN]], %c0]
// CHECK-NOT: scf.parallel
// CHECK: bufferization.to_tensor %[[WEIGHTS]] restrict writable
// CHECK: bufferization.to_tensor %[[IDS]] restrict writable
func.func @route(%logits: tensor<?x8xf32>) -> (tensor<?x2xf32>, tensor<?x2xi32>) {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %w, %ids : tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

// Group-limited routing keeps a second register list, of the best groups (topk_group = 2
// of n_group = 4), and offers the experts of each chosen group in turn.
// CHECK-LABEL: func.func @route_grouped
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, index, index)
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32)
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, index, index, index)
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, f32, index, index, index)
// CHECK-NOT: scf.for
// CHECK: return
func.func @route_grouped(%logits: tensor<?x8xf32>, %bias: tensor<8xf32>) -> tensor<?x3xf32> {
  %w, %ids = moe.route %logits score_bias(%bias : tensor<8xf32>)
               routing <scoring = sigmoid, k = 3, n_group = 4, topk_group = 2>
               : tensor<?x8xf32> -> tensor<?x3xf32>, tensor<?x3xi32>
  return %w : tensor<?x3xf32>
}

// -----

// moe.permute: five nests, none with atomics: per-chunk counts, per-expert prefix sums,
// the segment layout (a thread per expert summing the padded totals up to its own, the
// first also writing offsets[0]), the padding fill, the scatter. No nest is of one
// thread: the canonicalizer would inline it into host code.
// CHECK-LABEL: func.func @permute
// CHECK: %[[SORTED:.*]] = memref.alloc(%{{.*}}) : memref<?xi32>
// CHECK: %[[OFFSETS:.*]] = memref.alloc() : memref<9xi32>
// CHECK: %[[COUNTS:.*]] = memref.alloc(%{{.*}}) : memref<?x8xi32>
// CHECK: %[[TOTALS:.*]] = memref.alloc() : memref<8xi32>
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK: scf.if
// CHECK: memref.store %c0_i32, %[[OFFSETS]][%c0]
// CHECK: scf.for {{.*}} -> (index)
// CHECK: memref.load %[[TOTALS]]
// CHECK: memref.store %{{.*}}, %[[OFFSETS]][%{{.*}}]
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%{{.*}}) step (%c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK-NOT: scf.parallel
// CHECK-NOT: memref.atomic_rmw
// CHECK: bufferization.to_tensor %[[SORTED]] restrict writable
// CHECK: bufferization.to_tensor %[[OFFSETS]] restrict writable
func.func @permute(%ids: tensor<?x2xi32>) -> (tensor<?xi32>, tensor<9xi32>) {
  %sorted, %offsets = moe.permute %ids experts 8 block 16 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  return %sorted, %offsets : tensor<?xi32>, tensor<9xi32>
}

// -----

// moe.grouped_matmul: a 2-D grid of (4-row tiles, 64-column tiles), 256 threads each; a
// thread with a padding row stores zero, any other searches its expert and runs the K
// loop for its gate and up columns.
// CHECK-LABEL: func.func @grouped_matmul
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[RESULT:.*]] = memref.alloc(%{{.*}}) : memref<?x128xf32>
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %[[C2]]) step (%c1, %c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%[[C256]]) step (%c1) {
// CHECK: scf.if %{{.*}} {
// CHECK: scf.for {{.*}} -> (index, index)
// CHECK: scf.for %{{.*}} = %c0 to %[[C64]] step %c1 iter_args({{.*}}) -> (f32, f32)
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[RESULT]]
// CHECK: } else {
// CHECK-NEXT: memref.store %[[ZERO]], %[[RESULT]]
func.func @grouped_matmul(%x: tensor<?x64xf32>, %w: tensor<8x64x256xf32>, %offsets: tensor<9xi32>,
                          %sorted: tensor<?xi32>) -> tensor<?x128xf32> {
  %h = moe.grouped_matmul %x, %w offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = silu, gated = true>
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xf32>
  return %h : tensor<?x128xf32>
}

// -----

// Without a gather the rows are the input's own; a bias starts the sums. bf16 values are
// computed in f32.
// CHECK-LABEL: func.func @grouped_matmul_bf16
// CHECK: memref.load %{{.*}} : memref<8x32xbf16>
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: scf.for {{.*}} -> (f32) {
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @grouped_matmul_bf16(%x: tensor<?x64xbf16>, %w: tensor<8x64x32xbf16>, %offsets: tensor<9xi32>,
                               %b: tensor<8x32xbf16>) -> tensor<?x32xbf16> {
  %h = moe.grouped_matmul %x, %w offsets %offsets bias(%b : tensor<8x32xbf16>)
         : (tensor<?x64xbf16>, tensor<8x64x32xbf16>, tensor<9xi32>) -> tensor<?x32xbf16>
  return %h : tensor<?x32xbf16>
}

// -----

// fp8 weights: each byte decoded by integer arithmetic (normal: bits << 20 rebiased by
// 120 << 23; subnormal: mantissa * 2^-9; S.1111.111: NaN; the sign last), times the scale
// of its block (64 / 2 rows, 32 / 4 columns).
// CHECK-LABEL: func.func @grouped_matmul_fp8
// CHECK: scf.for {{.*}} -> (f32) {
// CHECK: %[[CODE:.*]] = memref.load %{{.*}} : memref<8x64x32xf8E4M3FN>
// CHECK: %[[BYTE:.*]] = arith.bitcast %[[CODE]] : f8E4M3FN to i8
// CHECK: %[[BITS:.*]] = arith.extui %[[BYTE]] : i8 to i32
// CHECK: %[[MAGNITUDE:.*]] = arith.andi %[[BITS]], %c127_i32
// CHECK: %[[SHIFTED:.*]] = arith.shli %[[MAGNITUDE]], %c20_i32
// CHECK: %[[REBIASED:.*]] = arith.addi %[[SHIFTED]], %c1006632960_i32
// CHECK: %[[NORMAL:.*]] = arith.bitcast %[[REBIASED]] : i32 to f32
// CHECK: %[[MANTISSA:.*]] = arith.uitofp %[[MAGNITUDE]] : i32 to f32
// CHECK: %[[SUBNORMAL:.*]] = arith.mulf %[[MANTISSA]], %cst{{.*}} : f32
// CHECK: %[[IS_SUBNORMAL:.*]] = arith.cmpi ult, %[[MAGNITUDE]], %c8_i32
// CHECK: %[[VALUE:.*]] = arith.select %[[IS_SUBNORMAL]], %[[SUBNORMAL]], %[[NORMAL]]
// CHECK: %[[IS_NAN:.*]] = arith.cmpi eq, %[[MAGNITUDE]], %c127_i32
// CHECK: %[[NAN_OR_VALUE:.*]] = arith.select %[[IS_NAN]], %cst{{.*}}, %[[VALUE]]
// CHECK: %[[NEGATIVE:.*]] = arith.cmpi ugt, %[[BITS]], %c127_i32
// CHECK: %[[NEGATED:.*]] = arith.negf %[[NAN_OR_VALUE]]
// CHECK: %[[DECODED:.*]] = arith.select %[[NEGATIVE]], %[[NEGATED]], %[[NAN_OR_VALUE]]
// CHECK: %[[BLOCK_ROW:.*]] = arith.divui %{{.*}}, %c32 : index
// CHECK: %[[BLOCK_COLUMN:.*]] = arith.divui %{{.*}}, %c8 : index
// CHECK: %[[SCALE:.*]] = memref.load %{{.*}}[%{{.*}}, %[[BLOCK_ROW]], %[[BLOCK_COLUMN]]] : memref<8x2x4xf32>
// CHECK: arith.mulf %[[DECODED]], %[[SCALE]]
func.func @grouped_matmul_fp8(%x: tensor<?x64xf32>, %w: tensor<8x64x32xf8E4M3FN>, %offsets: tensor<9xi32>,
                              %s: tensor<8x2x4xf32>) -> tensor<?x32xf32> {
  %h = moe.grouped_matmul %x, %w offsets %offsets scales(%s : tensor<8x2x4xf32>)
         : (tensor<?x64xf32>, tensor<8x64x32xf8E4M3FN>, tensor<9xi32>) -> tensor<?x32xf32>
  return %h : tensor<?x32xf32>
}

// -----

// moe.unpermute: the pairs' slots (the last slot naming a pair wins through an atomic
// max), then a (token, column tile) grid summing the weighted rows.
// CHECK-LABEL: func.func @unpermute
// CHECK: %[[SLOT_OF_PAIR:.*]] = memref.alloc(%{{.*}}) : memref<?xi32>
// CHECK: scf.parallel
// CHECK: memref.store %c-1_i32, %[[SLOT_OF_PAIR]]
// CHECK: scf.parallel
// CHECK: memref.atomic_rmw maxs %{{.*}}, %[[SLOT_OF_PAIR]]
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %c1) step (%c1, %c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK: scf.for {{.*}} -> (f32) {
// CHECK: scf.if %{{.*}} -> (f32) {
func.func @unpermute(%out: tensor<?x64xf32>, %sorted: tensor<?xi32>, %w: tensor<?x2xf32>) -> tensor<?x64xf32> {
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// A grouped matmul that combines its rows: the rows into a [P, N] buffer as without the
// combine, then the unpermute's kernels sum them into the tokens.
// CHECK-LABEL: func.func @grouped_matmul_combine
// CHECK: %[[ROWS:.*]] = memref.alloc(%{{.*}}) : memref<?x64xf32>
// CHECK: memref.store %{{.*}}, %[[ROWS]]
// CHECK: memref.atomic_rmw maxs
// CHECK: %[[ROW:.*]] = memref.load %[[ROWS]]
func.func @grouped_matmul_combine(%h: tensor<?x32xf32>, %w: tensor<8x32x64xf32>, %offsets: tensor<9xi32>,
                                  %sorted: tensor<?xi32>, %weights: tensor<?x2xf32>) -> tensor<?x64xf32> {
  %y = moe.grouped_matmul %h, %w offsets %offsets combine(%sorted, %weights : tensor<?xi32>, tensor<?x2xf32>)
         : (tensor<?x32xf32>, tensor<8x32x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// moe.gather_rows: a (row, column tile) grid; a thread loads its token row's element
// through the sorted id, or stores zero for a padding slot.
// CHECK-LABEL: func.func @gather_rows
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[RESULT:.*]] = memref.alloc(%{{.*}}) : memref<?x64xf32>
// CHECK: scf.parallel (%[[ROW:.*]], %{{.*}}) = (%c0, %c0) to (%{{.*}}, %c1) step (%c1, %c1) {
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c256) step (%c1) {
// CHECK: %[[ID:.*]] = memref.load %{{.*}}[%[[ROW]]] : memref<?xi32>
// CHECK: %[[VALUE:.*]] = scf.if %{{.*}} -> (f32) {
// CHECK: arith.divui %{{.*}}, %c2 : index
// CHECK: memref.load %{{.*}} : memref<?x64xf32>
// CHECK: } else {
// CHECK-NEXT: scf.yield %[[ZERO]]
// CHECK: memref.store %[[VALUE]], %[[RESULT]]
func.func @gather_rows(%x: tensor<?x64xf32>, %sorted: tensor<?xi32>) -> tensor<?x64xf32> {
  %rows = moe.gather_rows %x, %sorted, rows_per_token 2 : (tensor<?x64xf32>, tensor<?xi32>) -> tensor<?x64xf32>
  return %rows : tensor<?x64xf32>
}

// -----

// moe.expert_activation: a (row, column tile) grid over the result; gated, a thread reads
// its gate column and the up column half the input's columns further, and computes the
// grouped matmul's epilogue.
// CHECK-LABEL: func.func @expert_activation
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: %[[RESULT:.*]] = memref.alloc(%{{.*}}) : memref<?x128xf32>
// CHECK: scf.parallel (%[[ROW:.*]], %{{.*}}) = (%c0, %c0) to (%{{.*}}, %c1) step (%c1, %c1) {
// CHECK: %[[GATE:.*]] = memref.load %{{.*}}[%[[ROW]], %[[COLUMN:.*]]] : memref<?x256xf32>
// CHECK: %[[UP_COLUMN:.*]] = arith.addi %[[COLUMN]], %[[C128]] : index
// CHECK: %[[UP:.*]] = memref.load %{{.*}}[%[[ROW]], %[[UP_COLUMN]]] : memref<?x256xf32>
// CHECK: math.exp
// CHECK: memref.store %{{.*}}, %[[RESULT]][%[[ROW]], %[[COLUMN]]]
func.func @expert_activation(%gu: tensor<?x256xf32>) -> tensor<?x128xf32> {
  %h = moe.expert_activation %gu expert <activation = silu, gated = true> : tensor<?x256xf32> -> tensor<?x128xf32>
  return %h : tensor<?x128xf32>
}
