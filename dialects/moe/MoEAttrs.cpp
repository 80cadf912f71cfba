//===- MoEAttrs.cpp - Routing and expert-body attributes ------------------===//

#include "moec/Dialect/MoE/MoE.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace moec::moe;

#include "dialects/moe/MoEEnums.cpp.inc"

FailureOr<llvm::APFloat> moec::moe::parseF64Parameter(AsmParser &parser) {
  double value;
  if (parser.parseFloat(value))
    return failure();
  return llvm::APFloat(value);
}

#define GET_ATTRDEF_CLASSES
#include "dialects/moe/MoEAttrs.cpp.inc"

LogicalResult RoutingAttr::verify(function_ref<InFlightDiagnostic()> emitError, Scoring scoring,
                                  int64_t k, bool renormalize, bool topkFirst, int64_t nGroup,
                                  int64_t topkGroup, llvm::APFloat routedScalingFactorValue,
                                  llvm::APFloat capacityFactorValue,
                                  llvm::APFloat renormalizeEpsilonValue,
                                  llvm::APFloat jitterEpsValue, bool zeroMaskedGroups,
                                  bool /*weighInputs*/) {
  double renormalizeEpsilon = renormalizeEpsilonValue.convertToDouble();
  double jitterEps = jitterEpsValue.convertToDouble();
  double routedScalingFactor = routedScalingFactorValue.convertToDouble();
  double capacityFactor = capacityFactorValue.convertToDouble();
  if (k < 1)
    return emitError() << "routing needs k >= 1, got k = " << k;
  if (nGroup < 1)
    return emitError() << "routing needs n_group >= 1, got " << nGroup;
  if (topkGroup < 1 || topkGroup > nGroup)
    return emitError() << "routing needs 1 <= topk_group <= n_group (" << nGroup
                       << "), got topk_group = " << topkGroup;
  if (topkFirst && scoring != Scoring::softmax && scoring != Scoring::sigmoid)
    return emitError() << "topk_first routing takes a softmax or sigmoid of the chosen logits; "
                          "it cannot be combined with scoring = "
                       << stringifyScoring(scoring);
  if (topkFirst && nGroup != 1)
    return emitError() << "topk_first routing cannot be group-limited (n_group = " << nGroup << ")";
  if (zeroMaskedGroups && topkGroup == nGroup)
    return emitError() << "zero_masked_groups needs group-limited routing (topk_group < n_group), "
                          "got n_group = topk_group = "
                       << nGroup;
  if (!(renormalizeEpsilon >= 0.0 && std::isfinite(renormalizeEpsilon)))
    return emitError() << "renormalize_epsilon must be 0 or positive, got " << renormalizeEpsilon;
  // The softmax over the chosen logits (topk_first) sums to one by itself: an epsilon would
  // apply to a division it does not have.
  if (renormalizeEpsilon != 0.0 && (!renormalize || (topkFirst && scoring == Scoring::softmax)))
    return emitError() << "renormalize_epsilon applies to renormalized routing without a "
                          "softmax over the chosen logits only, got "
                       << renormalizeEpsilon;
  // SparseMixer is defined for top-2 over all experts, with weights of its own (topk_first
  // is excluded above, being softmax-only).
  if (scoring == Scoring::sparse_mixer) {
    if (k != 2)
      return emitError() << "sparse_mixer routing chooses exactly 2 experts, got k = " << k;
    if (renormalize)
      return emitError() << "sparse_mixer routing has weights of its own; it cannot be "
                            "renormalized";
    if (nGroup != 1)
      return emitError() << "sparse_mixer routing cannot be group-limited (n_group = " << nGroup
                         << ")";
    // A negative width would mask the chosen expert itself, leaving nothing to softmax.
    if (!(jitterEps >= 0.0 && std::isfinite(jitterEps)))
      return emitError() << "jitter_eps must be 0 or positive, got " << jitterEps;
  } else if (!jitterEpsValue.bitwiseIsEqual(llvm::APFloat(kDefaultJitterEps))) {
    return emitError() << "jitter_eps applies to sparse_mixer routing only, got " << jitterEps;
  }
  if (!(routedScalingFactor > 0.0))
    return emitError() << "routed_scaling_factor must be positive, got " << routedScalingFactor;
  if (!(capacityFactor >= 0.0))
    return emitError() << "capacity_factor must be 0 (dropless) or positive, got "
                       << capacityFactor;
  return success();
}

LogicalResult ExpertAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 Activation activation, bool gated, llvm::APFloat alphaValue,
                                 llvm::APFloat limitValue) {
  double alpha = alphaValue.convertToDouble();
  double limit = limitValue.convertToDouble();
  bool takesAlpha = activation == Activation::swiglu_clamped;
  bool clamped = takesAlpha || activation == Activation::silu_clamped;
  if (clamped && !gated)
    return emitError() << stringifyActivation(activation)
                       << " is a gated activation: it needs gated = true";
  if (!takesAlpha && alpha != 1.702)
    return emitError() << "alpha applies to swiglu_clamped only, not to "
                       << stringifyActivation(activation);
  if (!clamped && limit != 7.0)
    return emitError() << "limit applies to swiglu_clamped and silu_clamped only, not to "
                       << stringifyActivation(activation);
  if (clamped && !(limit > 0.0))
    return emitError() << stringifyActivation(activation) << " needs a positive limit, got "
                       << limit;
  return success();
}

void MoEDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/moe/MoEAttrs.cpp.inc"
      >();
}
