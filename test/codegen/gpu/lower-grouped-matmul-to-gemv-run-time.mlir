// RUN: moe-opt %s -moec-lower-grouped-matmul-to-gemv -split-input-file | FileCheck %s
// RUN: moe-opt %s -moec-lower-grouped-matmul-to-gemv=choose-at-run-time=false -split-input-file | FileCheck %s --check-prefix=STATIC

// A dynamic token count leaves the rows per expert to run time: the pairs of the permute
// (tokens x 2) over the 8 experts, rounded up, computed from the ids' size, choose between
// the split-K nests (planned for 16 rows: 8 bf16 rows a pass) and the op, which the later
// lowerings take.
// CHECK-LABEL: func.func @dynamic_tokens
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xbf16>, %[[IDS:.*]]: tensor<?x2xi32>
// CHECK: %[[SORTED:.*]], %[[OFFSETS:.*]] = moe.permute
// CHECK: %[[TOKENS:.*]] = tensor.dim %[[IDS]], %c0 : tensor<?x2xi32>
// CHECK: %[[PAIRS:.*]] = arith.muli %[[TOKENS]], %c2 : index
// CHECK: %[[PER_EXPERT:.*]] = arith.ceildivui %[[PAIRS]], %c8 : index
// CHECK: %[[FITS:.*]] = arith.cmpi ule, %[[PER_EXPERT]], %c16 : index
// CHECK: %[[Y:.*]] = scf.if %[[FITS]] -> (tensor<?x32xbf16>) {
// CHECK:   memref.alloc(%{{.*}}) : memref<{{[0-9]+}}x?x32xf32>
// CHECK:   scf.parallel
// CHECK:     scf.for {{.*}} step %c8
// CHECK:       vector.load {{.*}} vector<8xbf16>
// CHECK:   scf.parallel
// CHECK:   %[[NESTS:.*]] = bufferization.to_tensor
// CHECK:   scf.yield %[[NESTS]] : tensor<?x32xbf16>
// CHECK: } else {
// CHECK:   %[[OP:.*]] = moe.grouped_matmul %[[X]], %{{.*}} offsets %[[OFFSETS]] gather %[[SORTED]]
// CHECK:   scf.yield %[[OP]] : tensor<?x32xbf16>
// CHECK: }
// CHECK: return %[[Y]]
// STATIC-LABEL: func.func @dynamic_tokens
// STATIC-NOT: scf.if
// STATIC: moe.grouped_matmul
// STATIC-NOT: scf.parallel
func.func @dynamic_tokens(%x: tensor<?x64xbf16>, %ids: tensor<?x2xi32>,
                          %w: tensor<8x64x32xbf16>) -> tensor<?x32xbf16> {
  %sorted, %offsets = moe.permute %ids experts 8 block 1 : tensor<?x2xi32> -> tensor<?xi32>, tensor<9xi32>
  %y = moe.grouped_matmul %x, %w offsets %offsets gather %sorted, rows_per_token 2
         : (tensor<?x64xbf16>, tensor<8x64x32xbf16>, tensor<9xi32>, tensor<?xi32>) -> tensor<?x32xbf16>
  return %y : tensor<?x32xbf16>
}

// -----

// Without a permute, the slots (the input's rows) over the experts.
// CHECK-LABEL: func.func @dynamic_rows
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>
// CHECK: %[[SLOTS:.*]] = tensor.dim %[[X]], %{{.*}} : tensor<?x64xf32>
// CHECK: %[[PER_EXPERT:.*]] = arith.ceildivui %[[SLOTS]], %c8 : index
// CHECK: %[[FITS:.*]] = arith.cmpi ule, %[[PER_EXPERT]], %c16 : index
// CHECK: scf.if %[[FITS]] -> (tensor<?x32xf32>) {
// CHECK:   vector.load {{.*}} vector<4xf32>
// CHECK: } else {
// CHECK:   moe.grouped_matmul
// STATIC-LABEL: func.func @dynamic_rows
// STATIC-NOT: scf.if
// STATIC: moe.grouped_matmul
func.func @dynamic_rows(%x: tensor<?x64xf32>, %w: tensor<8x64x32xf32>,
                        %offsets: tensor<9xi32>) -> tensor<?x32xf32> {
  %y = moe.grouped_matmul %x, %w offsets %offsets
         : (tensor<?x64xf32>, tensor<8x64x32xf32>, tensor<9xi32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
