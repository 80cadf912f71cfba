// RUN: moe-opt %S/../../passes/raise/dense-minimal.mlir --moe-raise | FileCheck %s
// RUN: moe-opt %S/../../passes/raise/dense-minimal.mlir --moe-raise=disable-passes=moec-raise-dense-moe | FileCheck %s --check-prefix=DISABLED
// RUN: not moe-opt %S/../../passes/raise/dense-minimal.mlir --moe-raise=disable-passes=moec-raise-nothing 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// The Raise stage raises a dense-masked layer; with that pass disabled the onnx nodes stay;
// a name that no optional pass has is an error.

// CHECK: moe.layer
// CHECK-NOT: onnx.node

// DISABLED-NOT: moe.layer
// DISABLED: onnx.node "Einsum"

// UNKNOWN: error: disable-passes=moec-raise-nothing: no optional pass has that name
