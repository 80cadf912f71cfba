// RUN: moe-opt %s -moec-fuse-combine-into-grouped-matmul -split-input-file | FileCheck %s
// The down projection combines its rows into the tokens itself; the unpermute goes.

// CHECK-LABEL: func.func @down_projection
// CHECK-SAME: (%[[H:.*]]: tensor<?x32xf32>, %[[DOWN:.*]]: tensor<4x32x16xf32>, %[[OFFSETS:.*]]: tensor<5xi32>, %[[IDS:.*]]: tensor<?xi32>, %[[W:.*]]: tensor<?x2xf32>, %[[BIAS:.*]]: tensor<4x16xf32>)
// CHECK-NEXT: %[[Y:.*]] = moe.grouped_matmul %[[H]], %[[DOWN]] offsets %[[OFFSETS]] bias(%[[BIAS]] : tensor<4x16xf32>) combine(%[[IDS]], %[[W]] : tensor<?xi32>, tensor<?x2xf32>) : (tensor<?x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<?x16xf32>
// CHECK-NEXT: return %[[Y]]
func.func @down_projection(%h: tensor<?x32xf32>, %down: tensor<4x32x16xf32>, %offsets: tensor<5xi32>, %ids: tensor<?xi32>,
                           %w: tensor<?x2xf32>, %bias: tensor<4x16xf32>) -> tensor<?x16xf32> {
  %rows = moe.grouped_matmul %h, %down offsets %offsets bias(%bias : tensor<4x16xf32>) : (tensor<?x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<?x16xf32>
  %y = moe.unpermute %rows, %ids, %w : (tensor<?x16xf32>, tensor<?xi32>, tensor<?x2xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// -----

// Rows that something else reads too stay in the sorted layout, and so does the unpermute.
// CHECK-LABEL: func.func @rows_read_elsewhere
// CHECK: %[[ROWS:.*]] = moe.grouped_matmul
// CHECK-NOT: combine
// CHECK: %[[Y:.*]] = moe.unpermute %[[ROWS]]
// CHECK: return %[[Y]], %[[ROWS]]
func.func @rows_read_elsewhere(%h: tensor<12x32xf32>, %down: tensor<4x32x16xf32>, %offsets: tensor<5xi32>, %ids: tensor<12xi32>,
                               %w: tensor<6x2xf32>) -> (tensor<6x16xf32>, tensor<12x16xf32>) {
  %rows = moe.grouped_matmul %h, %down offsets %offsets : (tensor<12x32xf32>, tensor<4x32x16xf32>, tensor<5xi32>) -> tensor<12x16xf32>
  %y = moe.unpermute %rows, %ids, %w : (tensor<12x16xf32>, tensor<12xi32>, tensor<6x2xf32>) -> tensor<6x16xf32>
  return %y, %rows : tensor<6x16xf32>, tensor<12x16xf32>
}

// -----

// An unpermute of rows that no grouped matmul made stays.
// CHECK-LABEL: func.func @rows_from_elsewhere
// CHECK: moe.unpermute %arg0
func.func @rows_from_elsewhere(%rows: tensor<12x16xf32>, %ids: tensor<12xi32>, %w: tensor<6x2xf32>) -> tensor<6x16xf32> {
  %y = moe.unpermute %rows, %ids, %w : (tensor<12x16xf32>, tensor<12xi32>, tensor<6x2xf32>) -> tensor<6x16xf32>
  return %y : tensor<6x16xf32>
}
