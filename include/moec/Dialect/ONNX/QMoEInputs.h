//===- QMoEInputs.h - The inputs of com.microsoft.QMoE -----------*- C++ -*-===//
//
// onnxruntime's QMoE contrib op (ContribOperators.md) is read by two passes: the raise
// into moe.layer and the expansion into ONNX nodes. Both name its inputs from here.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_DIALECT_ONNX_QMOEINPUTS_H
#define MOEC_DIALECT_ONNX_QMOEINPUTS_H

namespace moec::onnx::qmoe {

/// The positions of com.microsoft.QMoE's inputs.
enum Input : unsigned {
  kInput = 0,
  kRouterProbs = 1,
  kFc1Weights = 2,
  kFc1Scales = 3,
  kFc1Bias = 4,
  kFc2Weights = 5,
  kFc2Scales = 6,
  kFc2Bias = 7,
  kFc3Weights = 8,
  kFc3Scales = 9,
  kFc3Bias = 10,
  kFc1ZeroPoints = 11,
  kFc2ZeroPoints = 12,
  kFc3ZeroPoints = 13,
  /// router_weights, then the float8/float4 formats' global and activation scales.
  kFirstUnsupported = 14,
};

} // namespace moec::onnx::qmoe

#endif // MOEC_DIALECT_ONNX_QMOEINPUTS_H
