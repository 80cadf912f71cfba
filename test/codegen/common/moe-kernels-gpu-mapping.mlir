// RUN: moe-opt %s -moec-lower-moe-kernels-to-loops -gpu-map-parallel-loops=mapping-policy=innermost-first \
// RUN:   -convert-parallel-loops-to-gpu -one-shot-bufferize=bufferize-function-boundaries \
// RUN:   -canonicalize -lower-affine -gpu-kernel-outlining | FileCheck %s
// The loop kernels map onto a GPU with upstream passes alone, in the GPU pipeline's order
// (nests to launches, then bufferization and the canonicalizer, which would otherwise fold
// each grid and its block into one loop): every nest becomes one gpu.launch of its grid
// and its block of 256 threads, named for what it does (1 for moe.route, 5 for
// moe.permute, 1 per moe.grouped_matmul, 3 for moe.unpermute), and no loop is left on the
// host, only the launches and their sizes. Host code reads no buffer, so the host need not
// wait for the stream mid-run.

// CHECK-LABEL: func.func @layer
// CHECK-NOT: scf.
// CHECK-NOT: memref.load
// CHECK: gpu.launch_func @moe_route::@moe_route blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_permute_count::@moe_permute_count blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_permute_prefix_sums::@moe_permute_prefix_sums blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_permute_offsets::@moe_permute_offsets blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_permute_pad::@moe_permute_pad blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_permute_scatter::@moe_permute_scatter blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @grouped_matmul_loops::@grouped_matmul_loops blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @grouped_matmul_loops_0::@grouped_matmul_loops blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_unpermute_clear::@moe_unpermute_clear blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_unpermute_find_slots::@moe_unpermute_find_slots blocks in ({{.*}}) threads in (%c256, %c1, %c1)
// CHECK: gpu.launch_func @moe_unpermute_combine::@moe_unpermute_combine blocks in ({{.*}}) threads in (%c256, %c1, %c1)
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
