// REQUIRES: ptxas
// The tensor-core kernels through NVVM to PTX for sm_80 and sm_90 (sm_90a takes the
// wgmma kernels: lower-grouped-matmul-to-wgmma-ptx.mlir), assembled by ptxas:
// every kernel stages its tiles with cp.async, loads fragments with ldmatrix (.trans for
// the weights) and multiplies with mma.sync m16n8k16; no local-memory spills.
//
// RUN: moe-opt %s -moec-lower-grouped-matmul-to-mma | moe-opt --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_80 module=moec_kernels},gpu.module(convert-nvgpu-to-nvvm,convert-scf-to-cf,convert-gpu-to-nvvm,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})' \
// RUN:   | %python %moec_src/scripts/extract_gpu_assembly.py > %t.sm_80.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM80 < %t.sm_80.ptx
// RUN: ptxas -arch=sm_80 -v %t.sm_80.ptx -o %t.sm_80.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --implicit-check-not="bytes spill"
//
// RUN: moe-opt %s -moec-lower-grouped-matmul-to-mma=chip=sm_90 | moe-opt --pass-pipeline='builtin.module(nvvm-attach-target{chip=sm_90 module=moec_kernels},gpu.module(convert-nvgpu-to-nvvm,convert-scf-to-cf,convert-gpu-to-nvvm,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})' \
// RUN:   | %python %moec_src/scripts/extract_gpu_assembly.py > %t.sm_90.ptx
// RUN: FileCheck %s --check-prefixes=PTX,SM90 < %t.sm_90.ptx
// RUN: ptxas -arch=sm_90 -v %t.sm_90.ptx -o %t.sm_90.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS --implicit-check-not="bytes spill"

// SM80: .target sm_80
// SM90: .target sm_90{{$}}
// PTX-LABEL: .entry grouped_matmul_mma_f16_k256_n512_gather2_gelu_tanh_gated_w1x4_t1x2_kb32_s4(
// PTX: cp.async.cg.shared.global
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-LABEL: .entry grouped_matmul_mma_bf16_k256_n256_w2x2_t2x4_kb32_s3(
// PTX: cp.async.cg.shared.global
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-LABEL: .entry grouped_matmul_mma_bf16_k256_n512_gather2_bias_silu_gated_w2x2_t2x4_kb32_s3(
// PTX: cp.async.cg.shared.global
// PTX: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
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

// Decoding in f16: 2 tokens, top-2, 8 experts, segments padded to 16 rows at most.
func.func @decode_f16(%x: tensor<2x256xf16>, %w_up: tensor<8x256x512xf16>, %offsets: tensor<9xi32>,
                      %ids: tensor<124xi32>) -> tensor<124x256xf16> {
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %ids, rows_per_token 2
         expert <activation = gelu_tanh, gated = true>
         : (tensor<2x256xf16>, tensor<8x256x512xf16>, tensor<9xi32>, tensor<124xi32>) -> tensor<124x256xf16>
  return %h : tensor<124x256xf16>
}
