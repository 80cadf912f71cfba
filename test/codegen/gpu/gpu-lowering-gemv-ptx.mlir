// REQUIRES: ptxas, libdevice
// RUN: rm -rf %t && mkdir -p %t
// RUN: for chip in sm_80 sm_90; do \
// RUN:   moec %s --target=$chip --emit=ptx -o %t/$chip.ptx && \
// RUN:   ptxas -arch=$chip -v %t/$chip.ptx -o %t/$chip.cubin 2>&1 || exit 1; done | FileCheck %s --check-prefix=PTXAS
// RUN: FileCheck %s < %t/sm_80.ptx
// RUN: FileCheck %s < %t/sm_90.ptx
// The GPU pipeline runs decode-sized grouped matmuls (one token, top-2: a row per busy
// expert) as split-K kernels (moec-lower-grouped-matmul-to-gemv): the bf16 gated up
// projection and the f32 down projection each read their weights with 128-bit loads, and
// ptxas assembles every kernel for sm_80 and sm_90 without spilling.
// CHECK-COUNT-2: ld.global.v4.b32
// CHECK-NOT: ld.global.v4.b32
// PTXAS-NOT: {{[1-9][0-9]*}} bytes spill
// PTXAS-NOT: {{[1-9][0-9]*}} bytes stack frame
func.func @main(%x: tensor<1x256xbf16>, %logits: tensor<1x8xf32>, %w_up: tensor<8x256x128xbf16>,
                %h32: tensor<2x64xf32>, %w_down: tensor<8x64x256xf32>)
    -> (tensor<?x64xbf16>, tensor<?x256xf32>) {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true>
               : tensor<1x8xf32> -> tensor<1x2xf32>, tensor<1x2xi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 1 : tensor<1x2xi32> -> tensor<?xi32>, tensor<9xi32>
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = silu, gated = true>
         : (tensor<1x256xbf16>, tensor<8x256x128xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x64xbf16>
  %h_slots = tensor.cast %h32 : tensor<2x64xf32> to tensor<?x64xf32>
  %out = moe.grouped_matmul %h_slots, %w_down offsets %offsets
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>) -> tensor<?x256xf32>
  return %h, %out : tensor<?x64xbf16>, tensor<?x256xf32>
}
