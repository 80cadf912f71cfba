// RUN: moe-opt %s -moec-lower-grouped-matmul-to-mma -split-input-file | FileCheck %s
// bf16/f16 grouped matmuls become launches of warp-level tensor-core kernels in
// @moec_kernels; one behaviour of the kernel per case.

// The op becomes a launch on read-only buffers of its operands (row counts made dynamic
// for the kernel) and a fresh result buffer, wrapped back as a restrict tensor; no launch
// with no rows. The kernel stages the input and weight tiles of each k-block in shared
// memory with cp.async (three stages: the next blocks are copied while one is multiplied),
// loads fragments with ldmatrix (transposed for the k-major weights) and accumulates f32
// with bf16 m16n8k16 mma.sync.
// CHECK-LABEL: func.func @sorted
// CHECK-SAME: (%[[X:.*]]: tensor<?x32xbf16>, %[[W:.*]]: tensor<4x32x16xbf16>, %[[OFFSETS:.*]]: tensor<5xi32>)
// CHECK: %[[X_BUF:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<?x32xbf16> to memref<?x32xbf16>
// CHECK: %[[W_BUF:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK: %[[W_ARG:.*]] = memref.cast %[[W_BUF]] : memref<4x32x16xbf16> to memref<?x32x16xbf16>
// CHECK: %[[OFFSETS_BUF:.*]] = bufferization.to_buffer %[[OFFSETS]] read_only
// CHECK: %[[OFFSETS_ARG:.*]] = memref.cast %[[OFFSETS_BUF]] : memref<5xi32> to memref<?xi32>
// CHECK: %[[ROWS:.*]] = tensor.dim %[[X]], %c0
// CHECK: %[[RESULT:.*]] = memref.alloc(%[[ROWS]]) : memref<?x16xbf16>
// CHECK: %[[ANY:.*]] = arith.cmpi sgt, %[[ROWS]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK:   %[[ROW_BLOCKS:.*]] = arith.ceildivui %[[ROWS]], %c64
// CHECK:   gpu.launch_func @moec_kernels::@[[KERNEL:grouped_matmul_mma_bf16_k32_n16_w2x1_t2x2_kb32_s3]] blocks in (%[[ROW_BLOCKS]], %c1, %c1) threads in (%c64, %c1, %c1) args(%[[X_BUF]] : memref<?x32xbf16>, %[[W_ARG]] : memref<?x32x16xbf16>, %[[OFFSETS_ARG]] : memref<?xi32>, %[[RESULT]] : memref<?x16xbf16>)
// CHECK: }
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[RESULT]] restrict writable
// CHECK: return %[[Y]]
// CHECK: gpu.module @moec_kernels {
// CHECK: gpu.func @[[KERNEL]](%[[KX:.*]]: memref<?x32xbf16>, %[[KW:.*]]: memref<?x32x16xbf16>, %{{.*}}: memref<?xi32>, %{{.*}}: memref<?x16xbf16>)
// CHECK-SAME: workgroup(%[[A_TILES:.*]] : memref<3x64x40xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[B_TILES:.*]] : memref<3x1x32x24xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 64, 1, 1>}
// CHECK: nvgpu.device_async_copy %[[KX]][{{.*}}], %[[A_TILES]][%{{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_copy %[[KW]][{{.*}}], %[[B_TILES]][%{{.*}}, %c0, {{.*}}], 8, %{{.*}} {bypassL1}
// CHECK: nvgpu.device_async_create_group
// CHECK: %[[PROLOGUE:.*]] = nvgpu.device_async_create_group
// CHECK: %[[LOOP:.*]]:5 = scf.for %{{.*}} = %c0 to %c1 step %c1 iter_args({{.*}}, %[[PENDING:.*]] = %[[PROLOGUE]])
// CHECK:   nvgpu.device_async_wait %[[PENDING]] {numGroups = 1 : i32}
// CHECK:   gpu.barrier
// CHECK:   nvgpu.device_async_copy %[[KX]]
// CHECK:   nvgpu.device_async_create_group
// CHECK:   nvgpu.ldmatrix %[[A_TILES]][{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK:   nvgpu.ldmatrix %[[B_TILES]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK:   nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: }
// CHECK: nvgpu.device_async_wait %[[LOOP]]#4 {numGroups = 0 : i32}
// CHECK: gpu.barrier
// CHECK-NOT: math.exp
// CHECK: gpu.return
func.func @sorted(%x: tensor<?x32xbf16>, %w: tensor<4x32x16xbf16>, %offsets: tensor<5xi32>) -> tensor<?x16xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// -----

// The fragment addressing (docs/gpu-mma.md): lane l of a warp gives ldmatrix the address
// of row l % 16 and column 8 * (l / 16) of its 16 x 16 A tile (x4: a0..a3), and of k row
// l % 16 and columns from 8 * (l / 16) of a pair of 8-column B tiles in the k-major weight
// tile (x4.trans: b0, b1 of both). Here 2 x 1 warps of 2 x 2 tiles: warp w starts at row
// 32 * w; the second A tile 16 rows further.
// CHECK-LABEL: gpu.func @grouped_matmul_mma_bf16_k64_n16_w2x1_t2x2_kb32_s3
// CHECK-SAME: workgroup(%[[A_TILES:[^ ]*]] : {{.*}}, %[[B_TILES:[^ ]*]] :
// CHECK: %[[THREAD:.*]] = gpu.thread_id x
// CHECK: %[[LANE:.*]] = arith.remui %[[THREAD]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[THREAD]], %c32
// CHECK: %[[WARP_M:.*]] = arith.divui %[[WARP]], %c1
// CHECK: %[[WARP_ROW:.*]] = arith.muli %[[WARP_M]], %c32
// CHECK: %[[WARP_N:.*]] = arith.remui %[[WARP]], %c1
// CHECK: %[[WARP_COLUMN:.*]] = arith.muli %[[WARP_N]], %c16
// CHECK: scf.for
// CHECK: %[[ROW16:.*]] = arith.remui %[[LANE]], %c16
// CHECK: %[[HALF:.*]] = arith.divui %[[LANE]], %c16
// CHECK: %[[EIGHTH:.*]] = arith.muli %[[HALF]], %c8
// CHECK: %[[TILE0_ROW:.*]] = arith.addi %[[ROW16]], %c0
// CHECK: %[[A0_ROW:.*]] = arith.addi %[[WARP_ROW]], %[[TILE0_ROW]]
// CHECK: %[[A0_COLUMN:.*]] = arith.addi %[[EIGHTH]], %c0
// CHECK: nvgpu.ldmatrix %[[A_TILES]][%[[STAGE:[a-z0-9_]+]], %[[A0_ROW]], %[[A0_COLUMN]]] {numTiles = 4 : i32, transpose = false}
// CHECK: %[[TILE1_ROW:.*]] = arith.addi %[[ROW16]], %c16
// CHECK: %[[A1_ROW:.*]] = arith.addi %[[WARP_ROW]], %[[TILE1_ROW]]
// CHECK: nvgpu.ldmatrix %[[A_TILES]][%[[STAGE]], %[[A1_ROW]], %{{.*}}] {numTiles = 4 : i32, transpose = false}
// CHECK: %[[K_ROW:.*]] = arith.addi %[[ROW16]], %c0
// CHECK: %[[PAIR_COLUMN:.*]] = arith.addi %[[WARP_COLUMN]], %c0
// CHECK: %[[B_COLUMN:.*]] = arith.addi %[[PAIR_COLUMN]], %[[EIGHTH]]
// CHECK: nvgpu.ldmatrix %[[B_TILES]][%[[STAGE]], %c0, %[[K_ROW]], %[[B_COLUMN]]] {numTiles = 4 : i32, transpose = true}
func.func @addressing(%x: tensor<?x64xbf16>, %w: tensor<4x64x16xbf16>, %offsets: tensor<5xi32>) -> tensor<?x16xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x64xbf16>, tensor<4x64x16xbf16>, tensor<5xi32>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// -----

// The gather prologue: each A row is token sorted_ids[p] / rows_per_token, copied only
// when the id names a pair, i.e. 0 <= id < tokens * rows_per_token, and the k-block is
// within K (else zero-filled).
// CHECK-LABEL: gpu.func @grouped_matmul_mma_bf16_k32_n16_gather2_w2x1_t2x2_kb32_s3
// CHECK-SAME: (%[[X:.*]]: memref<?x32xbf16>, %{{.*}}: memref<?x32x16xbf16>, %{{.*}}: memref<?xi32>, %[[IDS:.*]]: memref<?xi32>, %{{.*}}: memref<?x16xbf16>)
// CHECK: %[[ID32:.*]] = memref.load %[[IDS]][%{{.*}}] : memref<?xi32>
// CHECK: %[[ID:.*]] = arith.index_cast %[[ID32]] : i32 to index
// CHECK: %[[TOKENS:.*]] = memref.dim %[[X]], %c0
// CHECK: %[[PAIRS:.*]] = arith.muli %[[TOKENS]], %c2
// CHECK: %[[NONNEG:.*]] = arith.cmpi sge, %[[ID]], %c0
// CHECK: %[[BELOW:.*]] = arith.cmpi slt, %[[ID]], %[[PAIRS]]
// CHECK: %[[NAMED:.*]] = arith.andi %[[NONNEG]], %[[BELOW]]
// CHECK: %[[VALID:.*]] = arith.andi %{{.*}}, %[[NAMED]]
// CHECK: %[[TOKEN:.*]] = arith.divui %[[ID]], %c2
// CHECK: %[[SOURCE:.*]] = arith.select %[[VALID]], %[[TOKEN]], %c0
// CHECK: %[[COPIED:.*]] = arith.andi %{{.*}}, %[[VALID]]
// CHECK: %[[ELEMENTS:.*]] = arith.select %[[COPIED]], %c8, %c0
// CHECK: nvgpu.device_async_copy %[[X]][%[[SOURCE]], %{{.*}}], %{{.*}}, 8, %[[ELEMENTS]]
func.func @gather(%x: tensor<?x32xbf16>, %w: tensor<4x32x16xbf16>, %offsets: tensor<5xi32>, %ids: tensor<?xi32>) -> tensor<?x16xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets gather %ids, rows_per_token 2
         : (tensor<?x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// -----

// The gated epilogue: the up half's weight tile comes from weight column + N/2 (here 8)
// into part 1 of the shared weight tiles, and the result is silu(gate) * up, computed in
// f32 and rounded once.
// CHECK-LABEL: gpu.func @grouped_matmul_mma_bf16_k32_n16_silu_gated_w2x1_t2x1_kb32_s3
// CHECK-SAME: (%{{.*}}: memref<?x32xbf16>, %[[W:[^:]*]]: memref<?x32x16xbf16>,
// CHECK-SAME: %[[B_TILES:[^ ]*]] : memref<3x2x64x16xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_copy %[[W]][%{{[a-z0-9_]+}}, %[[K_ROW:[a-z0-9_]+]], %{{[a-z0-9_]+}}], %[[B_TILES]][%[[STAGE:[a-z0-9_]+]], %c0, %[[ROW:[a-z0-9_]+]], %[[CHUNK:[a-z0-9_]+]]], 8
// CHECK-NEXT: %[[UP_COLUMN:.*]] = arith.addi %{{.*}}, %c8 : index
// CHECK-NEXT: arith.select
// CHECK-NEXT: nvgpu.device_async_copy %[[W]][%{{[a-z0-9_]+}}, %[[K_ROW]], %[[UP_COLUMN]]], %[[B_TILES]][%[[STAGE]], %c1, %[[ROW]], %[[CHUNK]]], 8
// CHECK: scf.yield %{{.*}} : vector<4xf32>, {{.*}}, !nvgpu.device.async.token
// CHECK: gpu.barrier
// CHECK: %[[GATE:.*]] = vector.extract %{{.*}}[0] : f32 from vector<4xf32>
// CHECK: %[[UP:.*]] = vector.extract %{{.*}}[0] : f32 from vector<4xf32>
// CHECK: %[[NEG:.*]] = arith.negf %[[GATE]]
// CHECK: %[[EXP:.*]] = math.exp %[[NEG]]
// CHECK: %[[DENOMINATOR:.*]] = arith.addf %{{.*}}, %[[EXP]]
// CHECK: %[[SIGMOID:.*]] = arith.divf %{{.*}}, %[[DENOMINATOR]]
// CHECK: %[[SILU:.*]] = arith.mulf %[[GATE]], %[[SIGMOID]]
// CHECK: %[[PRODUCT:.*]] = arith.mulf %[[SILU]], %[[UP]]
// CHECK: %[[OUT:.*]] = arith.select %{{.*}}, %[[PRODUCT]], %{{.*}} : f32
// CHECK: arith.truncf %[[OUT]] : f32 to bf16
func.func @gated(%x: tensor<?x32xbf16>, %w: tensor<4x32x16xbf16>, %offsets: tensor<5xi32>) -> tensor<?x8xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets expert <activation = silu, gated = true>
         : (tensor<?x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>) -> tensor<?x8xbf16>
  return %y : tensor<?x8xbf16>
}

// -----

// silu_clamped's epilogue (DeepSeek-V4): the gate clamped below the limit, the up to
// [-limit, limit], then silu(gate) * up; the limit is part of the kernel's name.
// CHECK-LABEL: gpu.func @grouped_matmul_mma_bf16_k32_n16_silu_clamped_limit10_00_gated_w2x1_t2x1_kb32_s3
// CHECK-DAG: %[[LOW:.*]] = arith.constant -1.000000e+01 : f32
// CHECK-DAG: %[[LIMIT:.*]] = arith.constant 1.000000e+01 : f32
// CHECK: %[[G:.*]] = arith.minimumf %{{.*}}, %[[LIMIT]] : f32
// CHECK-NEXT: %[[U_LOW:.*]] = arith.maximumf %{{.*}}, %[[LOW]] : f32
// CHECK-NEXT: %[[U:.*]] = arith.minimumf %[[U_LOW]], %[[LIMIT]] : f32
// CHECK-NEXT: %[[NEG:.*]] = arith.negf %[[G]]
// CHECK: %[[SIGMOID:.*]] = arith.divf
// CHECK-NEXT: %[[SILU:.*]] = arith.mulf %[[G]], %[[SIGMOID]]
// CHECK-NEXT: arith.mulf %[[U]], %[[SILU]]
func.func @silu_clamped(%x: tensor<?x32xbf16>, %w: tensor<4x32x16xbf16>, %offsets: tensor<5xi32>) -> tensor<?x8xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets expert <activation = silu_clamped, gated = true, limit = 10.0>
         : (tensor<?x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>) -> tensor<?x8xbf16>
  return %y : tensor<?x8xbf16>
}

// -----

// The bias of the expert is added to the f32 accumulator before the activation.
// CHECK-LABEL: gpu.func @grouped_matmul_mma_bf16_k32_n16_bias_relu_w2x1_t2x2_kb32_s3
// CHECK-SAME: %[[BIAS:[^:]*]]: memref<?x16xbf16>, %{{.*}}: memref<?x16xbf16>)
// CHECK: scf.yield %{{.*}} : vector<4xf32>, {{.*}}, !nvgpu.device.async.token
// CHECK: gpu.barrier
// CHECK: %[[B:.*]] = memref.load %[[BIAS]][%[[EXPERT:.*]], %{{.*}}] : memref<?x16xbf16>
// CHECK: %[[B32:.*]] = arith.extf %[[B]] : bf16 to f32
// CHECK: %[[SUM:.*]] = arith.addf %{{.*}}, %[[B32]]
// CHECK: arith.maximumf %[[SUM]], %{{.*}} : f32
func.func @bias(%x: tensor<?x32xbf16>, %w: tensor<4x32x16xbf16>, %offsets: tensor<5xi32>, %b: tensor<4x16xbf16>) -> tensor<?x16xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets bias(%b : tensor<4x16xbf16>) expert <activation = relu>
         : (tensor<?x32xbf16>, tensor<4x32x16xbf16>, tensor<5xi32>) -> tensor<?x16xbf16>
  return %y : tensor<?x16xbf16>
}

// -----

// f16 fragments go to mma.sync as pairs of halves.
// CHECK-LABEL: gpu.func @grouped_matmul_mma_f16_k32_n16_w2x1_t2x2_kb32_s3
// CHECK: nvvm.mma.sync {{.*}} shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @f16(%x: tensor<?x32xf16>, %w: tensor<4x32x16xf16>, %offsets: tensor<5xi32>) -> tensor<?x16xf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x32xf16>, tensor<4x32x16xf16>, tensor<5xi32>) -> tensor<?x16xf16>
  return %y : tensor<?x16xf16>
}

// -----

// Few rows per expert (here 16 static slots over 4 experts) take the decode tiling:
// one 16-row tile per warp, up to four warps side by side along the columns.
// CHECK-LABEL: func.func @decode
// CHECK: gpu.launch_func @moec_kernels::@grouped_matmul_mma_bf16_k32_n64_w1x4_t1x2_kb32_s4 blocks in (%{{.*}}, %c1, %c1) threads in (%c128, %c1, %c1)
func.func @decode(%x: tensor<16x32xbf16>, %w: tensor<4x32x64xbf16>, %offsets: tensor<5xi32>) -> tensor<16x64xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<16x32xbf16>, tensor<4x32x64xbf16>, tensor<5xi32>) -> tensor<16x64xbf16>
  return %y : tensor<16x64xbf16>
}

// -----

// Equal configurations share one kernel, in the existing @moec_kernels module.
// CHECK-LABEL: gpu.func @existing
// CHECK: gpu.func @grouped_matmul_mma_bf16_k32_n32_w2x1_t2x4_kb32_s3
// CHECK-NOT: gpu.func
// CHECK-LABEL: func.func @shared
// CHECK: gpu.launch_func @moec_kernels::@grouped_matmul_mma_bf16_k32_n32_w2x1_t2x4_kb32_s3
// CHECK: gpu.launch_func @moec_kernels::@grouped_matmul_mma_bf16_k32_n32_w2x1_t2x4_kb32_s3
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  gpu.module @moec_kernels {
    gpu.func @existing() kernel {
      gpu.return
    }
  }
  func.func @shared(%x: tensor<?x32xbf16>, %w: tensor<4x32x32xbf16>, %offsets: tensor<5xi32>) -> tensor<?x32xbf16> {
    %y = moe.grouped_matmul %x, %w offsets %offsets
           : (tensor<?x32xbf16>, tensor<4x32x32xbf16>, tensor<5xi32>) -> tensor<?x32xbf16>
    %z = moe.grouped_matmul %y, %w offsets %offsets
           : (tensor<?x32xbf16>, tensor<4x32x32xbf16>, tensor<5xi32>) -> tensor<?x32xbf16>
    return %z : tensor<?x32xbf16>
  }
}

// -----

// f32 products, and shapes the m16n8k16 tiles do not divide, are left for the generic
// lowering.
// CHECK-LABEL: func.func @not_for_tensor_cores
// CHECK: moe.grouped_matmul {{.*}} -> tensor<?x16xf32>
// CHECK: moe.grouped_matmul {{.*}} -> tensor<?x16xbf16>
// CHECK-NOT: gpu.launch_func
func.func @not_for_tensor_cores(%x: tensor<?x32xf32>, %w: tensor<4x32x16xf32>, %offsets: tensor<5xi32>,
                                %x2: tensor<?x24xbf16>, %w2: tensor<4x24x16xbf16>) -> (tensor<?x16xf32>, tensor<?x16xbf16>) {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<?x16xf32>
  %z = moe.grouped_matmul %x2, %w2 offsets %offsets
         : (tensor<?x24xbf16>, tensor<4x24x16xbf16>, tensor<5xi32>) -> tensor<?x16xbf16>
  return %y, %z : tensor<?x16xf32>, tensor<?x16xbf16>
}

// -----

// Segments from a moe.permute of static tokens: the tiling plans for the pairs per expert
// (16 tokens x top-2 over 8 experts: 4 rows, decode), not for the padded slots (16 * 2 +
// 8 * 15 = 152 slots, 19 per expert, which would pick the larger tiles).
// CHECK-LABEL: func.func @rows_from_permute
// CHECK: gpu.launch_func @moec_kernels::@grouped_matmul_mma_bf16_k32_n64_gather2_w1x4_t1x2_kb32_s4
func.func @rows_from_permute(%x: tensor<16x32xbf16>, %w: tensor<8x32x64xbf16>, %expert_ids: tensor<16x2xi32>) -> tensor<152x64xbf16> {
  %ids, %offsets = moe.permute %expert_ids experts 8 block 16 : tensor<16x2xi32> -> tensor<152xi32>, tensor<9xi32>
  %y = moe.grouped_matmul %x, %w offsets %offsets gather %ids, rows_per_token 2
         : (tensor<16x32xbf16>, tensor<8x32x64xbf16>, tensor<9xi32>, tensor<152xi32>) -> tensor<152x64xbf16>
  return %y : tensor<152x64xbf16>
}
