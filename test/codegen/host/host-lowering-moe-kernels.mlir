// RUN: moe-opt %s -moec-host-lowering | FileCheck %s
// RUN: moe-opt %s -moec-host-lowering | FileCheck %s --check-prefix=CALLS
// On the host, the moe ops the runtime's kernels take (f32) call them; the rest (bf16 here)
// run as the loop kernels of moec-lower-moe-kernels-to-loops, down to LLVM like any loop.

// CHECK-NOT: func.func
// The bf16 combine reads bf16 as f32, and its slot map takes an atomic max.
// CHECK-DAG: llvm.atomicrmw max
// CHECK-DAG: llvm.fpext %{{.*}} : bf16 to f32
// CHECK-DAG: llvm.func @moec_rt_moe_unpermute_f32(
// One kernel call only, for the f32 combine.
// CALLS-COUNT-1: llvm.call @moec_rt_moe_unpermute_f32(
// CALLS-NOT: llvm.call @moec_rt_moe_
func.func @main(%out: tensor<?x64xf32>, %sorted: tensor<?xi32>, %w: tensor<?x2xf32>,
                %out_bf16: tensor<?x64xbf16>, %w_bf16: tensor<?x2xbf16>)
    -> (tensor<?x64xf32>, tensor<?x64xbf16>) {
  %y = moe.unpermute %out, %sorted, %w : (tensor<?x64xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x64xf32>
  %y_bf16 = moe.unpermute %out_bf16, %sorted, %w_bf16 : (tensor<?x64xbf16>, tensor<?xi32>, tensor<?x2xbf16>) -> tensor<?x64xbf16>
  return %y, %y_bf16 : tensor<?x64xf32>, tensor<?x64xbf16>
}
