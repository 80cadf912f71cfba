// REQUIRES: ptxas
// The sm_90a kernels through NVVM to PTX, assembled by ptxas: every kernel waits on
// mbarriers for TMA loads (cp.async.bulk.tensor) and multiplies with wgmma.mma_async
// (bf16 and f16, f32 accumulators); no local-memory spills.
//
// RUN: moe-opt %s -moec-lower-grouped-matmul-to-mma=chip=sm_90a | moe-opt --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_90a module=moec_kernels},gpu.module(convert-nvgpu-to-nvvm,convert-scf-to-cf,convert-gpu-to-nvvm,convert-nvvm-to-llvm,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})' \
// RUN:   | %python %moec_src/scripts/extract_gpu_assembly.py > %t.ptx
// RUN: FileCheck %s --check-prefix=PTX < %t.ptx
// RUN: ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --implicit-check-not="bytes spill"

// PTX: .target sm_90a
// PTX-LABEL: .entry grouped_matmul_wgmma_f16_k256_n512_gather2_gelu_tanh_gated_b64x128_s4(
// PTX: mbarrier.init.shared.b64
// PTX: fence.mbarrier_init.release.cluster
// PTX: mbarrier.arrive.expect_tx.shared.b64
// PTX: cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX: cp.async.bulk.tensor.3d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// PTX: mbarrier.try_wait.parity.shared.b64
// PTX: wgmma.fence.sync.aligned
// PTX: wgmma.mma_async.sync.aligned.m64n128k16.f32.f16.f16
// PTX: wgmma.commit_group.sync.aligned
// PTX: wgmma.wait_group.sync.aligned 0
// PTX-LABEL: .entry grouped_matmul_wgmma_bf16_k256_n256_b128x128_s4(
// PTX: cp.async.bulk.tensor.2d
// PTX: mbarrier.try_wait.parity
// PTX: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// PTX-LABEL: .entry grouped_matmul_wgmma_bf16_k256_n512_gather2_bias_silu_gated_b64x128_s4(
// PTX: cp.async.bulk.tensor.2d
// PTX: mbarrier.try_wait.parity
// PTX: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// PTX-NOT: __nv_

// PTXAS-COUNT-3: 0 bytes spill stores, 0 bytes spill loads

// A Mixtral-like expert MLP at small scale: the gated up projection gathers the tokens
// (top-2), the down projection reads the sorted layout.
func.func @expert_mlp(%x: tensor<?x256xbf16>, %w_up: tensor<8x256x512xbf16>, %b_up: tensor<8x512xbf16>,
                      %w_down: tensor<8x256x256xbf16>, %offsets: tensor<9xi32>, %ids: tensor<?xi32>) -> tensor<?x256xbf16> {
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %ids, rows_per_token 2
         bias(%b_up : tensor<8x512xbf16>) expert <activation = silu, gated = true>
         : (tensor<?x256xbf16>, tensor<8x256x512xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x256xbf16>
  %y = moe.grouped_matmul %h, %w_down offsets %offsets
         : (tensor<?x256xbf16>, tensor<8x256x256xbf16>, tensor<9xi32>) -> tensor<?x256xbf16>
  return %y : tensor<?x256xbf16>
}

// Decoding in f16: 2 tokens, top-2, 8 experts.
func.func @decode_f16(%x: tensor<2x256xf16>, %w_up: tensor<8x256x512xf16>, %offsets: tensor<9xi32>,
                      %ids: tensor<124xi32>) -> tensor<124x256xf16> {
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %ids, rows_per_token 2
         expert <activation = gelu_tanh, gated = true>
         : (tensor<2x256xf16>, tensor<8x256x512xf16>, tensor<9xi32>, tensor<124xi32>) -> tensor<124x256xf16>
  return %h : tensor<124x256xf16>
}
