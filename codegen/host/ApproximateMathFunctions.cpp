//===- ApproximateMathFunctions.cpp - Polynomials for libm's f32 functions -===//

#include "moec/Codegen/Host/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/StringSet.h"

namespace moec {
#define GEN_PASS_DEF_APPROXIMATEMATHFUNCTIONS
#include "codegen/host/Passes.h.inc"
} // namespace moec

using namespace mlir;

namespace {

/// The functions that ONNX models spend their elementwise time in (softmax, SiLU,
/// sigmoid, GELU, log-softmax) and whose upstream approximations keep special values.
/// `name` is the op's full name, `math.exp`.
bool isApproximated(StringRef name) {
  static const llvm::StringSet<> kFunctions = {"math.exp",   "math.expm1", "math.log",
                                               "math.log1p", "math.log2",  "math.tanh",
                                               "math.erf"};
  return kFunctions.contains(name);
}

struct ApproximateMathFunctionsPass
    : moec::impl::ApproximateMathFunctionsBase<ApproximateMathFunctionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // f16 and bf16 go through f32, where the polynomials are defined.
    populateMathF32ExpansionPatterns(patterns, isApproximated);
    populateMathPolynomialApproximationPatterns(patterns, isApproximated);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
