// RUN: moe-opt %s -moec-lower-moe-kernels-to-loops -canonicalize -gpu-map-parallel-loops \
// RUN:   -convert-parallel-loops-to-gpu -lower-affine -gpu-kernel-outlining | FileCheck %s
// The loop kernels map onto a GPU with upstream passes alone: every nest becomes one
// gpu.launch (1 for moe.route, 5 for moe.permute, 1 per moe.grouped_matmul, 3 for
// moe.unpermute), and no loop is left on the host, only the launches and their sizes,
// even after the canonicalizer (which inlines a nest of one iteration into host code).
// Host code reads no buffer, so the host need not wait for the stream mid-run.

// CHECK-LABEL: func.func @layer
// CHECK-NOT: scf.
// CHECK-NOT: memref.load
// CHECK-COUNT-11: gpu.launch_func
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: scf.
// CHECK-NOT: memref.load
// CHECK: return
// CHECK-COUNT-11: gpu.func @{{.*}} kernel
// CHECK-NOT: gpu.func
func.func @layer(%x: tensor<?x64xf32>, %logits: tensor<?x8xf32>, %w_up: tensor<8x64x256xf32>,
                 %w_down: tensor<8x128x64xf32>) -> tensor<?x64xf32> {
  %w, %ids = moe.route %logits routing <scoring = softmax, k = 2, renormalize = true>
               : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %sorted, %offsets = moe.permute %ids experts 8 block 16 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  %h = moe.grouped_matmul %x, %w_up offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = silu, gated = true>
         : (tensor<?x64xf32>, tensor<8x64x256xf32>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x128xf32>
  %out = moe.grouped_matmul %h, %w_down offsets %offsets
         : (tensor<?x128xf32>, tensor<8x128x64xf32>, tensor<9xi32>) -> tensor<?x64xf32>
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
