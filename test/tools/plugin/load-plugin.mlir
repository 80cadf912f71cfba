// RUN: %preload_sanitizer_runtime mlir-opt %s --load-dialect-plugin=%moec_libs/libMoECPlugin.so \
// RUN:   --load-pass-plugin=%moec_libs/libMoECPlugin.so -canonicalize | FileCheck %s
// Upstream mlir-opt gets the moe dialect, and its canonicalizations, from the plugin.

// CHECK-LABEL: func.func @route
// CHECK: moe.route %arg0 routing <scoring = softmax, k = 4> :
func.func @route(%l: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xi32>) {
  %w, %i = moe.route %l routing <scoring = softmax, k = 4, renormalize = true>
             : tensor<?x4xf32> -> tensor<?x4xf32>, tensor<?x4xi32>
  return %w, %i : tensor<?x4xf32>, tensor<?x4xi32>
}
