// RUN: moe-opt %s -moec-infer-types -split-input-file | FileCheck %s
// Shape computations carry their contents: torch's `x.reshape(-1, hidden)` through
// Shape/Gather/Unsqueeze/Concat gives the Reshape its rank and static dim.

module attributes {onnx.opset_imports = {ai.onnx = 20 : i64}} {
  // CHECK-LABEL: func.func @reshape_from_shape(%{{.*}}: tensor<?x?x64xf32>) -> tensor<?x64xf32>
  func.func @reshape_from_shape(%x: tensor<?x?x64xf32>) -> tensor<*xf32> {
    %s = onnx.node "Shape"(%x) : (tensor<?x?x64xf32>) -> !onnx.any
    %i = onnx.constant "i" dense<2> : tensor<i64>
    // CHECK: "Gather"{{.*}} -> tensor<i64>
    %d = onnx.node "Gather"(%s, %i) {node_attrs = {axis = 0 : i64}} : (!onnx.any, tensor<i64>) -> !onnx.any
    %axes = onnx.constant "axes" dense<[0]> : tensor<1xi64>
    // CHECK: "Unsqueeze"{{.*}} -> tensor<1xi64>
    %u = onnx.node "Unsqueeze"(%d, %axes) : (!onnx.any, tensor<1xi64>) -> !onnx.any
    %m = onnx.constant "m" dense<[-1]> : tensor<1xi64>
    // CHECK: "Concat"{{.*}} -> tensor<2xi64>
    %t = onnx.node "Concat"(%m, %u) {node_attrs = {axis = 0 : i64}} : (tensor<1xi64>, !onnx.any) -> !onnx.any
    // CHECK: "Reshape"{{.*}} -> tensor<?x64xf32>
    %y = onnx.node "Reshape"(%x, %t) : (tensor<?x?x64xf32>, !onnx.any) -> tensor<*xf32>
    // CHECK-NOT: tensor.cast
    return %y : tensor<*xf32>
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // The -1 of a reshape of a static tensor, and 0 (copy the input's dim).
  // CHECK-LABEL: func.func @reshape_static
  func.func @reshape_static(%x: tensor<4x6x8xf32>) -> !onnx.any {
    %t = onnx.constant "t" dense<[0, -1, 2]> : tensor<3xi64>
    // CHECK: "Reshape"{{.*}} -> tensor<4x24x2xf32>
    %y = onnx.node "Reshape"(%x, %t) : (tensor<4x6x8xf32>, tensor<3xi64>) -> !onnx.any
    return %y : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 13 : i64}} {
  // Slice with constant starts/ends/axes/steps, clamped as ONNX clamps them, and a
  // reversed slice; a slice with unknown bounds keeps the rank.
  // CHECK-LABEL: func.func @slice
  func.func @slice(%x: tensor<10x?xf32>, %start: tensor<1xi64>) -> (!onnx.any, !onnx.any, !onnx.any) {
    %starts = onnx.constant "starts" dense<[1, 0]> : tensor<2xi64>
    %ends = onnx.constant "ends" dense<[9223372036854775807, 5]> : tensor<2xi64>
    %axes = onnx.constant "axes" dense<[0, 1]> : tensor<2xi64>
    %steps = onnx.constant "steps" dense<[2, 1]> : tensor<2xi64>
    // CHECK: "Slice"{{.*}} -> tensor<5x?xf32>
    %a = onnx.node "Slice"(%x, %starts, %ends, %axes, %steps) : (tensor<10x?xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> !onnx.any
    %rs = onnx.constant "rs" dense<[-1]> : tensor<1xi64>
    %re = onnx.constant "re" dense<[-9223372036854775807]> : tensor<1xi64>
    %r0 = onnx.constant "r0" dense<[0]> : tensor<1xi64>
    %rstep = onnx.constant "rstep" dense<[-1]> : tensor<1xi64>
    // CHECK: "Slice"{{.*}} -> tensor<10x?xf32>
    %b = onnx.node "Slice"(%x, %rs, %re, %r0, %rstep) : (tensor<10x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> !onnx.any
    // CHECK: "Slice"{{.*}} -> tensor<?x?xf32>
    %c = onnx.node "Slice"(%x, %start, %re, %r0) : (tensor<10x?xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> !onnx.any
    return %a, %b, %c : !onnx.any, !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 18 : i64}} {
  // Squeeze/Unsqueeze axes as inputs (opset 13+), Split's num_outputs (opset 18), Transpose,
  // Flatten, Expand through torch's Where(Equal(s, -1), 1, s), Tile, ConstantOfShape.
  // CHECK-LABEL: func.func @movement
  func.func @movement(%x: tensor<1x7x4xf32>) -> (!onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any) {
    %a0 = onnx.constant "a0" dense<[0]> : tensor<1xi64>
    // CHECK: "Squeeze"{{.*}} -> tensor<7x4xf32>
    %sq = onnx.node "Squeeze"(%x, %a0) : (tensor<1x7x4xf32>, tensor<1xi64>) -> !onnx.any
    %a13 = onnx.constant "a13" dense<[1, -1]> : tensor<2xi64>
    // CHECK: "Unsqueeze"{{.*}} -> tensor<7x1x4x1xf32>
    %un = onnx.node "Unsqueeze"(%sq, %a13) : (!onnx.any, tensor<2xi64>) -> !onnx.any
    // CHECK: "Split"{{.*}} -> (tensor<1x3x4xf32>, tensor<1x3x4xf32>, tensor<1x1x4xf32>)
    %p:3 = onnx.node "Split"(%x) {node_attrs = {axis = 1 : i64, num_outputs = 3 : i64}} : (tensor<1x7x4xf32>) -> (!onnx.any, !onnx.any, !onnx.any)
    // CHECK: "Transpose"{{.*}} -> tensor<4x1x7xf32>
    %t = onnx.node "Transpose"(%x) {node_attrs = {perm = array<i64: 2, 0, 1>}} : (tensor<1x7x4xf32>) -> !onnx.any
    // CHECK: "Flatten"{{.*}} -> tensor<7x4xf32>
    %f = onnx.node "Flatten"(%x) {node_attrs = {axis = 2 : i64}} : (tensor<1x7x4xf32>) -> !onnx.any
    %s = onnx.constant "s" dense<[3, -1, -1]> : tensor<3xi64>
    %minus = onnx.constant "minus" dense<-1> : tensor<i64>
    %eq = onnx.node "Equal"(%s, %minus) : (tensor<3xi64>, tensor<i64>) -> !onnx.any
    %shape3 = onnx.constant "shape3" dense<[3]> : tensor<1xi64>
    %ones = onnx.node "ConstantOfShape"(%shape3) {node_attrs = {value = dense<1> : tensor<1xi64>}} : (tensor<1xi64>) -> !onnx.any
    // CHECK: "Where"{{.*}} -> tensor<3xi64>
    %target = onnx.node "Where"(%eq, %ones, %s) : (!onnx.any, !onnx.any, tensor<3xi64>) -> !onnx.any
    // CHECK: "Expand"{{.*}} -> tensor<3x7x4xf32>
    %e = onnx.node "Expand"(%x, %target) : (tensor<1x7x4xf32>, !onnx.any) -> !onnx.any
    %reps = onnx.constant "reps" dense<[2, 1, 3]> : tensor<3xi64>
    // CHECK: "Tile"{{.*}} -> tensor<2x7x12xf32>
    %tile = onnx.node "Tile"(%x, %reps) : (tensor<1x7x4xf32>, tensor<3xi64>) -> !onnx.any
    return %sq, %un, %p#2, %t, %f, %e, %tile, %ones, %target : !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any, !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // An empty slice of a shape has known (no) contents: transformers' batched_mm flattens its
  // top-k ids with reshape(shape[:0] + (-1,)) before tiling by them.
  // CHECK-LABEL: func.func @empty_shape_slice
  func.func @empty_shape_slice(%ids: tensor<1x3xi64>, %x: tensor<?x1x32xf32>) -> !onnx.any {
    %s = onnx.node "Shape"(%ids) : (tensor<1x3xi64>) -> tensor<2xi64>
    %zero = onnx.constant "zero" dense<[0]> : tensor<1xi64>
    // CHECK: "Slice"{{.*}} -> tensor<0xi64>
    %head = onnx.node "Slice"(%s, %zero, %zero) : (tensor<2xi64>, tensor<1xi64>, tensor<1xi64>) -> !onnx.any
    %minus = onnx.constant "minus" dense<[-1]> : tensor<1xi64>
    %t = onnx.node "Concat"(%head, %minus) {node_attrs = {axis = 0 : i64}} : (!onnx.any, tensor<1xi64>) -> !onnx.any
    // CHECK: "Reshape"{{.*}} -> tensor<3xi64>
    %flat = onnx.node "Reshape"(%ids, %t) : (tensor<1x3xi64>, !onnx.any) -> !onnx.any
    // CHECK: "Tile"{{.*}} -> tensor<?x?x?xf32>
    %tiled = onnx.node "Tile"(%x, %flat) : (tensor<?x1x32xf32>, !onnx.any) -> !onnx.any
    return %tiled : !onnx.any
  }
}

// -----

module attributes {onnx.opset_imports = {ai.onnx = 17 : i64}} {
  // Dims taken from a model's values are trusted only when they can be dims: a Reshape to -2
  // or a negative Split size leaves the dim unknown for legalization to refuse.
  // CHECK-LABEL: func.func @invalid_dims
  func.func @invalid_dims(%x: tensor<4x6xf32>) -> (!onnx.any, !onnx.any, !onnx.any) {
    %t = onnx.constant "t" dense<[4, -2]> : tensor<2xi64>
    // CHECK: "Reshape"{{.*}} -> tensor<4x?xf32>
    %r = onnx.node "Reshape"(%x, %t) : (tensor<4x6xf32>, tensor<2xi64>) -> !onnx.any
    %sizes = onnx.constant "sizes" dense<[-3, 9]> : tensor<2xi64>
    // CHECK: "Split"{{.*}} -> (tensor<4x?xf32>, tensor<4x9xf32>)
    %a, %b = onnx.node "Split"(%x, %sizes) {node_attrs = {axis = 1 : i64}} : (tensor<4x6xf32>, tensor<2xi64>) -> (!onnx.any, !onnx.any)
    return %r, %a, %b : !onnx.any, !onnx.any, !onnx.any
  }
}
