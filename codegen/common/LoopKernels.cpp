//===- LoopKernels.cpp - Building GPU-shaped loop kernels on buffers ------===//

#include "LoopKernels.h"

using namespace mlir;
using namespace moec::moe;

namespace moec::loops {

ExpertSegments::ExpertSegments(KernelBuilder &kb, Value offsets, Value rows, Value experts)
    : kb(kb), offsets(offsets), rows(rows), experts(experts) {
  searchSteps = 64;
  if (std::optional<int64_t> staticExperts = getConstantIntValue(experts))
    searchSteps = llvm::Log2_64_Ceil(std::max<int64_t>(*staticExperts, 1)) + 1;
}

Value ExpertSegments::start(Value e) const {
  Value start = arith::MaxSIOp::create(kb.b, kb.loadIndex(offsets, {e}), kb.index(0));
  return arith::MinSIOp::create(kb.b, start, rows);
}

Value ExpertSegments::expertOfRow(Value row) const {
  ValueRange bounds = kb.forLoop(
      kb.index(0), kb.index(searchSteps), {kb.index(1), experts},
      [&](Value, ValueRange carried) -> SmallVector<Value> {
        Value low = carried[0], high = carried[1];
        Value middle = kb.div(kb.add(low, high), kb.index(2));
        Value segmentStart = start(middle);
        Value after = kb.ult(row, segmentStart);
        Value notAfter = arith::CmpIOp::create(kb.b, arith::CmpIPredicate::uge, row, segmentStart);
        Value open = kb.ult(low, high);
        return {kb.select(kb.both(open, notAfter), kb.add(middle, kb.index(1)), low),
                kb.select(kb.both(open, after), middle, high)};
      });
  return kb.sub(bounds[0], kb.index(1));
}

static Value activate(KernelBuilder &kb, Activation activation, Value x) {
  switch (activation) {
  case Activation::relu:
    return kb.stdMax(x, kb.f32(0.0f));
  case Activation::relu2: {
    Value relu = kb.stdMax(x, kb.f32(0.0f));
    return kb.mul(relu, relu);
  }
  case Activation::gelu: {
    Value erf = math::ErfOp::create(kb.b, kb.mul(x, kb.f32(float(M_SQRT1_2))));
    return kb.mul(kb.mul(kb.f32(0.5f), x), kb.add(kb.f32(1.0f), erf));
  }
  case Activation::gelu_tanh: {
    // 0.5 x (1 + tanh(u)) = x sigmoid(2u).
    Value cube = kb.mul(kb.mul(x, x), x);
    Value u = kb.mul(kb.f32(0.7978845608f), kb.add(x, kb.mul(kb.f32(0.044715f), cube)));
    return kb.mul(x, kb.sigmoid(kb.mul(kb.f32(2.0f), u)));
  }
  case Activation::silu:
    return kb.mul(x, kb.sigmoid(x));
  case Activation::swiglu_clamped:
  case Activation::silu_clamped:
    break;
  }
  llvm_unreachable("clamped activations are gated and handled by the epilogue");
}

Value expertEpilogue(KernelBuilder &kb, ExpertAttr expert, Value gate, Value up) {
  if (expert.getActivation() == Activation::swiglu_clamped) {
    Value limit = kb.f32(float(expert.getLimit().convertToDouble()));
    Value alpha = kb.f32(float(expert.getAlpha().convertToDouble()));
    Value g = kb.stdMin(gate, limit);
    Value u = kb.stdMin(kb.stdMax(up, arith::NegFOp::create(kb.b, limit)), limit);
    return kb.mul(kb.mul(kb.add(u, kb.f32(1.0f)), g), kb.sigmoid(kb.mul(alpha, g)));
  }
  if (expert.getActivation() == Activation::silu_clamped) {
    Value limit = kb.f32(float(expert.getLimit().convertToDouble()));
    Value g = kb.stdMin(gate, limit);
    Value u = kb.stdMin(kb.stdMax(up, arith::NegFOp::create(kb.b, limit)), limit);
    return kb.mul(activate(kb, Activation::silu, g), u);
  }
  Value activated = activate(kb, expert.getActivation(), gate);
  return up ? kb.mul(activated, up) : activated;
}

} // namespace moec::loops
