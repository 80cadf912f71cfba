// RUN: moe-opt %s -moec-shard-experts="ranks=3 rank=1" | FileCheck %s
// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=0 profile=%S/Inputs/skewed_profile.json" | FileCheck %s --check-prefix=PROFILE
// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=0 replicate-hot=1 profile=%S/Inputs/skewed_profile.json" | FileCheck %s --check-prefix=HOT
// RUN: not moe-opt %s -moec-shard-experts="ranks=2 rank=0 profile=%S/Inputs/three_experts_profile.json" 2>&1 | FileCheck %s --check-prefix=MISMATCH
// RUN: moe-opt %s -moec-shard-experts="ranks=2 rank=0 placement=%S/Inputs/placement.json" | FileCheck %s --check-prefix=PLACE
// RUN: not moe-opt %s -moec-shard-experts="ranks=2 rank=0 placement=%S/Inputs/rank_out_of_range_placement.json" 2>&1 | FileCheck %s --check-prefix=RANK
// RUN: not moe-opt %s -moec-shard-experts="ranks=2 rank=0 placement=%S/Inputs/three_experts_placement.json" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not moe-opt %s -moec-shard-experts="ranks=2 rank=0 placement=%S/Inputs/placement.json profile=%S/Inputs/skewed_profile.json" 2>&1 | FileCheck %s --check-prefix=BOTH
// The routed experts of a decomposed layer become moe.expert_parallel: 4 experts in blocks
// over 3 ranks (0 and 1 on rank 0, 2 on rank 1, 3 on rank 2), stacks of 2, and the module
// is rank 1's program: its stacks hold expert 2 (all 3.0 = 0x40400000) then zeros.

// CHECK-LABEL: func.func @layer
// CHECK-DAG: %[[UP:.*]] = arith.constant dense_resource<moe.expert_stack.rank1> : tensor<2x2x4xf32>
// CHECK-DAG: %[[DOWN:.*]] = arith.constant dense_resource<moe.expert_stack.rank1_1> : tensor<2x2x2xf32>
// CHECK-NOT: moe.permute
// CHECK-NOT: moe.grouped_matmul
// CHECK: %[[Y:.*]] = moe.expert_parallel %arg0, %arg1, %arg2, %[[UP]], %[[DOWN]] ranks 3 experts [0, 0, 1, 2] slots [0, 1, 0, 0] expert <activation = silu, gated = true>
// CHECK-NOT: moe.unpermute
// CHECK: return %[[Y]]
// CHECK: moe.expert_stack.rank1: "0x{{........}}0000404000004040000040400000404000004040000040400000404000004040{{0+}}"
// With a profile whose loads are 9, 4, 3 and 1, the placement is balanced: 9 and 1 on rank 0
// (10), 4 and 3 on rank 1 (7), where blocks would make 13 and 4; a profile of another
// number of experts is an error naming the file.
// PROFILE: moe.expert_parallel {{.*}} ranks 2 experts [0, 1, 1, 0] slots [0, 0, 1, 1]
// With the hottest expert (0) on every rank, first in every rank's stacks (rank -1), the
// other three balanced (4 on rank 0; 3 and 1 on rank 1): stacks of 3, rank 0's holding
// experts 0 (1.0 = 0x3F800000) and 1 (2.0 = 0x40000000) then zeros.
// HOT: dense_resource<moe.expert_stack.rank0> : tensor<3x2x4xf32>
// HOT: moe.expert_parallel {{.*}} ranks 2 experts [-1, 0, 1, 1] slots [0, 1, 1, 2]
// HOT: moe.expert_stack.rank0: "0x{{........}}{{(0000803F)+(00000040)+(00000000)+}}"
// MISMATCH: three_experts_profile.json: layer 0 needs "expert_tokens" with 4 counts

// A placement file puts expert 0 and 3 on rank 1, 2 on rank 0, and 1 on every rank ("all",
// rank -1, first in every rank's stacks). Rank 1 holds most, 1 + 2 experts, so the stacks
// hold 3; rank 0's hold expert 1 (2.0 = 0x40000000), expert 2 (3.0 = 0x40400000), zeros.
// PLACE: dense_resource<moe.expert_stack.rank0> : tensor<3x2x4xf32>
// PLACE: moe.expert_parallel {{.*}} ranks 2 experts [1, -1, 0, 1] slots [1, 0, 1, 2]
// PLACE: moe.expert_stack.rank0: "0x{{........}}{{(00000040)+(00004040)+(00000000)+}}"
// A rank the job does not have, a file for another number of experts, or a placement with
// a profile, is an error naming the file or the conflict.
// RANK: rank_out_of_range_placement.json: layer 0: expert 1: expected a rank from 0 to 1 or "all"
// COUNT: three_experts_placement.json: layer 0 needs "expert_ranks" with 4 ranks
// BOTH: a placement file places the experts itself: no profile or hot experts with it

func.func @layer(%x: tensor<?x2xf32>, %ids: tensor<?x2xi32>, %w: tensor<?x2xf32>) -> tensor<?x2xf32> {
  %up = arith.constant dense<[[[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]],
                              [[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]],
                              [[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]],
                              [[4.0, 4.0, 4.0, 4.0], [4.0, 4.0, 4.0, 4.0]]]> : tensor<4x2x4xf32>
  %down = arith.constant dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]],
                                [[9.0, 10.0], [11.0, 12.0]], [[13.0, 14.0], [15.0, 16.0]]]> : tensor<4x2x2xf32>
  %sorted, %offsets = moe.permute %ids experts 4 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<5xi32>
  %h = moe.grouped_matmul %x, %up offsets %offsets gather %sorted, rows_per_token 2
         expert <activation = silu, gated = true>
         : (tensor<?x2xf32>, tensor<4x2x4xf32>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x2xf32>
  %o = moe.grouped_matmul %h, %down offsets %offsets : (tensor<?x2xf32>, tensor<4x2x2xf32>, tensor<5xi32>) -> tensor<?x2xf32>
  %y = moe.unpermute %o, %sorted, %w : (tensor<?x2xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x2xf32>
  return %y : tensor<?x2xf32>
}
