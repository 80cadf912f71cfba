// REQUIRES: ptxas, libdevice
// RUN: rm -rf %t && mkdir -p %t
// RUN: moe-opt %s -moec-lower-moe-kernels-to-loops -gpu-map-parallel-loops \
// RUN:   -convert-parallel-loops-to-gpu -lower-affine -o %t/mapped.mlir
// RUN: for chip in sm_80 sm_90a; do \
// RUN:   %mlir_tools/mlir-opt %t/mapped.mlir -o %t/$chip.mlir \
// RUN:     "-pass-pipeline=builtin.module(gpu-kernel-outlining,nvvm-attach-target{chip=$chip l=%libdevice},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,reconcile-unrealized-casts),gpu-module-to-binary{format=isa})" \
// RUN:   && %python %moec_src/scripts/extract_ptx.py %t/$chip.mlir %t/$chip || exit 1; done | FileCheck %s
// RUN: cat %t/sm_80/*.ptx | FileCheck %s --check-prefix=PTX
// RUN: for chip in sm_80 sm_90a; do for f in %t/$chip/*.ptx; do \
// RUN:   ptxas -arch=$chip -v $f -o $f.cubin 2>&1 || exit 1; done; done | FileCheck %s --check-prefix=STACK
// The loop kernels of every routing and epilogue go through upstream's NVVM lowering to
// PTX that ptxas assembles for sm_80 and sm_90a, math functions resolved from libdevice.
// (mlir-opt: moe-opt does not register the LLVM translation gpu-module-to-binary needs.)

// 1 route per routing (softmax, sigmoid grouped, topk_first, sparse_mixer), 2 for the route
// with a router (its logits, then the routing), 5 for the permute, 1 per grouped matmul
// (4), 3 for the unpermute.
// CHECK: wrote 18 PTX files
// CHECK-NEXT: wrote 18 PTX files
// PTX-NOT: __nv_
// PTX: atom.global.max.s32
// Top-k lists and accumulators stay in registers: no kernel has a stack frame or spills.
// STACK-NOT: {{[1-9][0-9]*}} bytes stack frame
// STACK-NOT: {{[1-9][0-9]*}} bytes spill
// STACK: 0 bytes stack frame
func.func @kernels(%x: tensor<?x64xf32>, %logits: tensor<?x8xf32>, %bias: tensor<8xf32>,
                   %w_up: tensor<8x64x256xf32>, %b_up: tensor<8x256xf32>,
                   %w_down: tensor<8x128x64xf32>, %w_relu: tensor<8x64x128xbf16>,
                   %xb: tensor<?x64xbf16>, %router: tensor<8x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x128xf32>, tensor<?x128xbf16>, tensor<?x2xf32>) {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %w1, %ids1 = moe.route %logits score_bias(%bias : tensor<8xf32>)
               routing <scoring = sigmoid, k = 2, renormalize = true, n_group = 4, topk_group = 2, routed_scaling_factor = 2.5>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %w2, %ids2 = moe.route %logits routing <scoring = softmax, k = 2, topk_first = true>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %w3, %ids3 = moe.route %logits routing <scoring = sparse_mixer, k = 2>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %w4, %ids4 = moe.route %x router(%router : tensor<8x64xf32>) router_bias(%bias : tensor<8xf32>)
               routing <scoring = softmax, k = 2>
               : tensor<?x64xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 16 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %sorted, rows_per_token 2
         bias(%b_up : tensor<8x256xf32>)
         expert <activation = swiglu_clamped, gated = true, alpha = 1.702, limit = 7.0>
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xf32>
  %g = moe.grouped_matmul %x, %w_up offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = gelu, gated = true>
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xf32>
  %r = moe.grouped_matmul %xb, %w_relu offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = gelu_tanh>
         : (tensor<?x64xbf16>, tensor<8x64x128xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xbf16>
  %out = moe.grouped_matmul %h, %w_down offsets %offsets
         : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
  return %y, %w1, %w2, %w3, %g, %r, %w4 : tensor<?x64xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x128xf32>, tensor<?x128xbf16>, tensor<?x2xf32>
}
