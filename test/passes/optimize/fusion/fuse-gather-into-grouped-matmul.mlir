// RUN: moe-opt %s -moec-fuse-gather-into-grouped-matmul -split-input-file | FileCheck %s
// A grouped matmul on the permuted copy of the tokens reads the tokens through the sorted
// ids itself; the copy goes when nothing else reads it.

// CHECK-LABEL: func.func @gathered_input
// CHECK-SAME: (%[[X:.*]]: tensor<?x16xf32>, %[[UP:.*]]: tensor<4x16x64xf32>, %[[OFFSETS:.*]]: tensor<5xi32>, %[[IDS:.*]]: tensor<?xi32>, %[[BIAS:.*]]: tensor<4x64xf32>)
// CHECK-NEXT: %[[GU:.*]] = moe.grouped_matmul %[[X]], %[[UP]] offsets %[[OFFSETS]] gather %[[IDS]], rows_per_token 2 bias(%[[BIAS]] : tensor<4x64xf32>) : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<5xi32>, tensor<?xi32>) -> tensor<?x64xf32>
// CHECK-NEXT: return %[[GU]]
func.func @gathered_input(%x: tensor<?x16xf32>, %up: tensor<4x16x64xf32>, %offsets: tensor<5xi32>, %ids: tensor<?xi32>,
                          %bias: tensor<4x64xf32>) -> tensor<?x64xf32> {
  %rows = moe.gather_rows %x, %ids, rows_per_token 2 : (tensor<?x16xf32>, tensor<?xi32>) -> tensor<?x16xf32>
  %gu = moe.grouped_matmul %rows, %up offsets %offsets bias(%bias : tensor<4x64xf32>) : (tensor<?x16xf32>, tensor<4x16x64xf32>, tensor<5xi32>) -> tensor<?x64xf32>
  return %gu : tensor<?x64xf32>
}

// -----

// The epilogue stays; a copy that is returned too stays for that reader.
// CHECK-LABEL: func.func @copy_read_elsewhere
// CHECK-SAME: (%[[X:.*]]: tensor<6x16xf32>, {{.*}}, %[[IDS:.*]]: tensor<12xi32>)
// CHECK: %[[ROWS:.*]] = moe.gather_rows %[[X]], %[[IDS]], rows_per_token 1
// CHECK: %[[H:.*]] = moe.grouped_matmul %[[X]], %{{.*}} offsets %{{.*}} gather %[[IDS]], rows_per_token 1 expert <activation = silu, gated = true>
// CHECK: return %[[H]], %[[ROWS]]
func.func @copy_read_elsewhere(%x: tensor<6x16xf32>, %up: tensor<4x16x64xf32>, %offsets: tensor<5xi32>, %ids: tensor<12xi32>)
    -> (tensor<12x32xf32>, tensor<12x16xf32>) {
  %rows = moe.gather_rows %x, %ids, rows_per_token 1 : (tensor<6x16xf32>, tensor<12xi32>) -> tensor<12x16xf32>
  %h = moe.grouped_matmul %rows, %up offsets %offsets expert <activation = silu, gated = true> : (tensor<12x16xf32>, tensor<4x16x64xf32>, tensor<5xi32>) -> tensor<12x32xf32>
  return %h, %rows : tensor<12x32xf32>, tensor<12x16xf32>
}

// -----

// A grouped matmul on rows that are not a gather stays as it is (the down projection).
// CHECK-LABEL: func.func @sorted_input
// CHECK: moe.grouped_matmul %arg0, %arg1 offsets %arg2 : (tensor<12x32xf32>
func.func @sorted_input(%h: tensor<12x32xf32>, %down: tensor<4x32x16xf32>, %offsets: tensor<5xi32>) -> tensor<12x16xf32> {
  %y = moe.grouped_matmul %h, %down offsets %offsets : (tensor<12x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<12x16xf32>
  return %y : tensor<12x16xf32>
}
