// RUN: moe-opt %s -moec-decompose-moe-layers -split-input-file -verify-diagnostics
// RUN: not moe-opt %s -moec-decompose-moe-layers=block-size=0 2>&1 | FileCheck %s --check-prefix=BLOCK
// What the kernels cannot run yet is an error at the layer, never a silent wrong result.

// BLOCK: block-size must be positive, not 0
func.func @capacity_limited(%x: tensor<?x16xf32>, %router: tensor<4x16xf32>, %up: tensor<4x16x32xf32>,
                            %down: tensor<4x32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{capacity-limited routing (capacity_factor != 0) is not supported by the MoE kernels yet}}
  %y = moe.layer %x, %up, %down router(%router : tensor<4x16xf32>)
         routing <scoring = softmax, k = 2, capacity_factor = 1.25> expert <activation = relu>
         : (tensor<?x16xf32>, tensor<4x16x32xf32>, tensor<4x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

func.func @dynamic_experts(%x: tensor<?x16xf32>, %router: tensor<?x16xf32>, %up: tensor<?x16x32xf32>,
                           %down: tensor<?x32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{the number of experts must be static to build the sorted-token layout}}
  %y = moe.layer %x, %up, %down router(%router : tensor<?x16xf32>)
         routing <scoring = softmax, k = 2> expert <activation = relu>
         : (tensor<?x16xf32>, tensor<?x16x32xf32>, tensor<?x32x16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
