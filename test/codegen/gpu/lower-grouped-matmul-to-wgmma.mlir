// RUN: moe-opt %s -moec-lower-grouped-matmul-to-mma=chip=sm_90a -split-input-file | FileCheck %s
// RUN: moe-opt %s -moec-lower-grouped-matmul-to-mma=chip=sm_90 -split-input-file | FileCheck %s --check-prefix=SM90
// For sm_90a the grouped matmuls become wgmma kernels fed by TMA through an mbarrier
// pipeline; sm_90 (no wgmma without the "a" features) keeps the mma.sync kernels.

// The host encodes a tensor map of the input rows (boxes of 128 rows x 64 k) and one of
// the weights (boxes of one expert's 64 k x 64 columns), hands both to the kernel as
// addresses beside the buffers behind them, and launches 128 threads with the dynamic
// shared memory of four stages of 32 KiB, the f32 accumulators and 1 KiB of alignment.
// The kernel initializes one mbarrier per stage, and per expert: the leader thread
// announces each stage's bytes and issues its TMA loads (the input tile, two 64-column
// weight boxes); every thread waits for the stage's phase, multiplies with wgmma (B
// transposed: the weights are [k][n]), waits for it, and after a barrier the leader
// refills the stage; the accumulators go to shared memory for the epilogue.
// CHECK-LABEL: func.func @sorted
// CHECK-SAME: (%[[X:.*]]: tensor<?x128xbf16>, %[[W:.*]]: tensor<4x128x256xbf16>
// CHECK: %[[X_BUF:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[W_BUF:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK: %[[X_UNRANKED:.*]] = memref.cast %[[X_BUF]] : memref<?x128xbf16> to memref<*xbf16>
// CHECK: %[[X_MAP:.*]] = nvgpu.tma.create.descriptor %[[X_UNRANKED]] box[%c128, %c64] : memref<*xbf16> -> <tensor = memref<128x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
// CHECK: %[[X_ADDRESS:.*]] = builtin.unrealized_conversion_cast %[[X_MAP]] {{.*}} to !llvm.ptr
// CHECK: %[[W_UNRANKED:.*]] = memref.cast %[[W_BUF]] : memref<4x128x256xbf16> to memref<*xbf16>
// CHECK: %[[W_MAP:.*]] = nvgpu.tma.create.descriptor %[[W_UNRANKED]] box[%c1, %c64, %c64] : memref<*xbf16> -> <tensor = memref<1x64x64xbf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b
// CHECK: %[[W_ADDRESS:.*]] = builtin.unrealized_conversion_cast %[[W_MAP]] {{.*}} to !llvm.ptr
// CHECK: gpu.launch_func @moec_kernels::@[[KERNEL:grouped_matmul_wgmma_bf16_k128_n256_b128x128_s4]] blocks in (%{{.*}}, %c2, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c197632_i32 args(%[[X_ADDRESS]] : !llvm.ptr, %[[W_ADDRESS]] : !llvm.ptr, %[[X_BUF]] : memref<?x128xbf16>, %{{.*}} : memref<?x128x256xbf16>, %{{.*}} : memref<?xi32>, %{{.*}} : memref<?x256xbf16>)
// CHECK: gpu.func @[[KERNEL]](%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr,
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: %[[SHARED:.*]] = gpu.dynamic_shared_memory
// CHECK: %[[BARRIERS:.*]] = nvgpu.mbarrier.create -> <memorySpace = #gpu.address_space<workgroup>, num_barriers = 4>
// CHECK-COUNT-4: nvgpu.mbarrier.init %[[BARRIERS]]
// CHECK: nvvm.fence.mbarrier.init
// CHECK: gpu.barrier
// CHECK: nvgpu.mbarrier.arrive.expect_tx %[[BARRIERS]][%{{.*}}], %c32768
// CHECK: nvgpu.tma.async.load %{{.*}}[%{{.*}}, %{{.*}}], %[[BARRIERS]][%{{.*}}] to %{{.*}} : {{.*}} -> memref<128x64xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-2: nvgpu.tma.async.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}], {{.*}} -> memref<1x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.warpgroup.mma.init.accumulator -> <fragmented = vector<128x128xf32>>
// CHECK: scf.for
// CHECK:   nvgpu.mbarrier.try_wait.parity %[[BARRIERS]]
// CHECK:   %[[A:.*]] = nvgpu.warpgroup.generate.descriptor {{.*}} : memref<128x64xbf16, #gpu.address_space<workgroup>>
// CHECK:   %[[B:.*]] = nvgpu.warpgroup.generate.descriptor {{.*}} : memref<64x128xbf16, #gpu.address_space<workgroup>>
// CHECK:   nvgpu.warpgroup.mma %[[A]], %[[B]], %{{.*}} {transposeB}
// CHECK:   nvvm.wgmma.wait.group.sync.aligned 0
// CHECK:   gpu.barrier
// CHECK:   nvgpu.mbarrier.arrive.expect_tx
// CHECK: nvgpu.warpgroup.mma.store %{{.*}}, %{{.*}} : <fragmented = vector<128x128xf32>> to memref<128x128xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: memref.store

// SM90-LABEL: func.func @sorted
// SM90: gpu.launch_func @moec_kernels::@grouped_matmul_mma_bf16_k128_n256_
// SM90-NOT: nvgpu.tma
func.func @sorted(%x: tensor<?x128xbf16>, %w: tensor<4x128x256xbf16>, %offsets: tensor<5xi32>) -> tensor<?x256xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
      : (tensor<?x128xbf16>, tensor<4x128x256xbf16>, tensor<5xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// -----

// The gather prologue runs first, as a linalg.generic on tensors (input row id /
// rows_per_token of each slot, zeros for padding ids); the tensor map reads the gathered
// rows, and the kernel gets the input for its row count. Gated: 64-row blocks, both
// halves' weight boxes per stage (gate columns, then the same columns past N / 2), two
// accumulators, four stages of 40 KiB.
// CHECK-LABEL: func.func @gathered_gated
// CHECK-SAME: (%[[X:.*]]: tensor<8x128xbf16>, %[[W:.*]]: tensor<4x128x256xbf16>, %[[OFFSETS:.*]]: tensor<5xi32>, %[[IDS:.*]]: tensor<16xi32>)
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<16x128xbf16>
// CHECK: %[[ROWS:.*]] = linalg.generic {{.*}} ins(%[[IDS]] : tensor<16xi32>) outs(%[[EMPTY]] : tensor<16x128xbf16>)
// CHECK:   arith.divui %{{.*}}, %c2
// CHECK:   tensor.extract %[[X]]
// CHECK: %[[ROWS_BUF:.*]] = bufferization.to_buffer %[[ROWS]] read_only
// CHECK: %[[ROWS_UNRANKED:.*]] = memref.cast %[[ROWS_BUF]]
// CHECK: nvgpu.tma.create.descriptor %[[ROWS_UNRANKED]] box[%c64, %c64]
// CHECK: gpu.launch_func @moec_kernels::@[[KERNEL:grouped_matmul_wgmma_bf16_k128_n256_gather2_silu_gated_b64x128_s4]] {{.*}} dynamic_shared_memory_size %c230400_i32
// CHECK: gpu.func @[[KERNEL]]
// CHECK: nvgpu.mbarrier.arrive.expect_tx %{{.*}}, %c40960
// CHECK: nvgpu.tma.async.load {{.*}} -> memref<64x64xbf16, #gpu.address_space<workgroup>>
// CHECK-COUNT-4: nvgpu.tma.async.load {{.*}} -> memref<1x64x64xbf16, #gpu.address_space<workgroup>>
// CHECK: scf.for {{.*}} -> (!nvgpu.warpgroup.accumulator<fragmented = vector<64x128xf32>>, !nvgpu.warpgroup.accumulator<fragmented = vector<64x128xf32>>)
// CHECK-COUNT-2: nvgpu.warpgroup.mma
// CHECK: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-COUNT-2: nvgpu.warpgroup.mma.store
func.func @gathered_gated(%x: tensor<8x128xbf16>, %w: tensor<4x128x256xbf16>, %offsets: tensor<5xi32>,
                          %ids: tensor<16xi32>) -> tensor<16x128xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets gather %ids, rows_per_token 2
      expert <activation = silu, gated = true>
      : (tensor<8x128xbf16>, tensor<4x128x256xbf16>, tensor<5xi32>, tensor<16xi32>) -> tensor<16x128xbf16>
  return %y : tensor<16x128xbf16>
}

// -----

// K of 32 and 64 result columns: one k-block of 64, whose k past K TMA reads as zeros
// in both operands (the weights' map is of [E, K, N], so the box never reaches the next
// expert's rows); 64-column blocks.
// CHECK-LABEL: func.func @partial_k_block
// CHECK: nvgpu.tma.create.descriptor %{{.*}} box[%c1, %c64, %c64]
// CHECK: gpu.launch_func @moec_kernels::@[[KERNEL:grouped_matmul_wgmma_bf16_k32_n64_b128x64_s4]]
// CHECK: gpu.func @[[KERNEL]]
// CHECK: scf.for %{{.*}} = %c0 to %c1 step %c1 iter_args(%{{.*}} = %{{.*}}) -> (!nvgpu.warpgroup.accumulator<fragmented = vector<128x64xf32>>)
func.func @partial_k_block(%x: tensor<?x32xbf16>, %w: tensor<4x32x64xbf16>, %offsets: tensor<5xi32>) -> tensor<?x64xbf16> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
      : (tensor<?x32xbf16>, tensor<4x32x64xbf16>, tensor<5xi32>) -> tensor<?x64xbf16>
  return %y : tensor<?x64xbf16>
}
