// RUN: moe-opt %s -moec-legalize-onnx -split-input-file | FileCheck %s
// Range of float16 computes in float32 (stash_type 1, the default; an attribute from opset
// 27) and rounds each element once; stash_type 10 (float16) keeps float16.

// CHECK-LABEL: func.func @stash_float32
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: tensor.generate
// CHECK: arith.sitofp %{{.*}} : i64 to f32
// CHECK: %[[E:.*]] = arith.addf %{{.*}} : f32
// CHECK: arith.truncf %[[E]] : f32 to f16
module attributes {onnx.opset_imports = {ai.onnx = 27 : i64}} {
  func.func @stash_float32(%start: tensor<f16>, %limit: tensor<f16>, %delta: tensor<f16>) -> tensor<?xf16> {
    %0 = onnx.node "Range"(%start, %limit, %delta) : (tensor<f16>, tensor<f16>, tensor<f16>) -> tensor<?xf16>
    return %0 : tensor<?xf16>
  }
}

// -----

// CHECK-LABEL: func.func @stash_float16
// CHECK-NOT: arith.extf
// CHECK: arith.sitofp %{{.*}} : i64 to f16
// CHECK-NOT: arith.truncf
module attributes {onnx.opset_imports = {ai.onnx = 27 : i64}} {
  func.func @stash_float16(%start: tensor<f16>, %limit: tensor<f16>, %delta: tensor<f16>) -> tensor<?xf16> {
    %0 = onnx.node "Range"(%start, %limit, %delta) {node_attrs = {stash_type = 10 : i64}} : (tensor<f16>, tensor<f16>, tensor<f16>) -> tensor<?xf16>
    return %0 : tensor<?xf16>
  }
}
