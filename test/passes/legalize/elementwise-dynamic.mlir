// RUN: moe-opt %s -moec-legalize-onnx | FileCheck %s
// A dynamic dimension takes its size from the first operand that has it; every other
// operand's dynamic size there is checked at run time, never assumed to broadcast.

// CHECK-LABEL: func.func @mul
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[M:.*]] = tensor.dim %arg1, %c0
// CHECK: %[[EQ:.*]] = arith.cmpi eq, %[[M]], %[[N]]
// CHECK: moe.check %[[EQ]], "node 'mul' (Mul): cannot broadcast dimension 0 of size {0} against {1}"(%[[M]], %[[N]] : index, index)
// CHECK: tensor.empty(%[[N]]) : tensor<?x8xf32>
// CHECK: arith.mulf
func.func @mul(%a: tensor<?x8xf32>, %b: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %0 = onnx.node "Mul"(%a, %b) {name = "mul"} : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
