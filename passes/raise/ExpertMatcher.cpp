//===- ExpertMatcher.cpp - Recover an expert MLP from an onnx-level graph -===//

#include "ExpertMatcher.h"

#include <cmath>
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace moec;
using namespace moec::raise;

/// For a commutative binary node, calls `match(first, second)` with its inputs in both
/// orders and returns the first success.
template <typename Result>
static std::optional<Result>
matchCommuted(onnx::NodeOp node, function_ref<std::optional<Result>(Value, Value)> match) {
  if (!node || node.getInputs().size() != 2)
    return std::nullopt;
  Value lhs = node.getInputs()[0], rhs = node.getInputs()[1];
  if (std::optional<Result> result = match(lhs, rhs))
    return result;
  return match(rhs, lhs);
}

/// Whether `value` is `Mul(x, Mul(x, x))` (any order) or `Pow(x, 3)`.
static bool isCubeOf(Value value, Value x) {
  if (onnx::NodeOp pow = getDefiningNode(value, "Pow"))
    return pow.getInputs()[0] == x && isScalarConstant(pow.getInputs()[1], 3.0);
  auto isSquare = [&](Value v) {
    onnx::NodeOp mul = getDefiningNode(v, "Mul");
    return mul && mul.getInputs()[0] == x && mul.getInputs()[1] == x;
  };
  return matchCommuted<bool>(getDefiningNode(value, "Mul"),
                             [&](Value a, Value b) -> std::optional<bool> {
                               if (a == x && isSquare(b))
                                 return true;
                               return std::nullopt;
                             })
      .has_value();
}

/// `Add(value, 1)` in either order: the other operand.
static Value matchPlusOne(Value value) {
  return matchCommuted<Value>(getDefiningNode(value, "Add"),
                              [](Value a, Value one) -> std::optional<Value> {
                                if (isScalarConstant(one, 1.0))
                                  return a;
                                return std::nullopt;
                              })
      .value_or(Value());
}

/// `1 + erf(x / sqrt(2))` for the given x.
static bool isErfTerm(Value value, Value x) {
  onnx::NodeOp erf = getDefiningNode(matchPlusOne(value), "Erf");
  if (!erf)
    return false;
  Value scaled = erf.getInputs()[0];
  if (onnx::NodeOp div = getDefiningNode(scaled, "Div"))
    return div.getInputs()[0] == x && isScalarConstant(div.getInputs()[1], std::sqrt(2.0));
  return matchCommuted<bool>(getDefiningNode(scaled, "Mul"),
                             [&](Value a, Value c) -> std::optional<bool> {
                               if (a == x && isScalarConstant(c, 1.0 / std::sqrt(2.0)))
                                 return true;
                               return std::nullopt;
                             })
      .has_value();
}

/// `1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))` for the given x.
static bool isTanhTerm(Value value, Value x) {
  onnx::NodeOp tanh = getDefiningNode(matchPlusOne(value), "Tanh");
  if (!tanh)
    return false;
  auto isCubicTerm = [&](Value w) {
    return matchCommuted<bool>(getDefiningNode(w, "Mul"),
                               [&](Value c, Value cube) -> std::optional<bool> {
                                 if (isScalarConstant(c, 0.044715) && isCubeOf(cube, x))
                                   return true;
                                 return std::nullopt;
                               })
        .has_value();
  };
  auto isInner = [&](Value u) {
    return matchCommuted<bool>(getDefiningNode(u, "Add"),
                               [&](Value a, Value w) -> std::optional<bool> {
                                 if (a == x && isCubicTerm(w))
                                   return true;
                                 return std::nullopt;
                               })
        .has_value();
  };
  return matchCommuted<bool>(getDefiningNode(tanh.getInputs()[0], "Mul"),
                             [&](Value c, Value u) -> std::optional<bool> {
                               if (isScalarConstant(c, std::sqrt(2.0 / llvm::numbers::pi)) &&
                                   isInner(u))
                                 return true;
                               return std::nullopt;
                             })
      .has_value();
}

/// GELU as torch exports it below opset 20: `(x * (1 + erf(x / sqrt 2))) * 0.5`, or the
/// tanh approximation `0.5 * (x * (1 + tanh(...)))`.
static std::optional<Activated> matchGelu(Value value) {
  return matchCommuted<Activated>(
      getDefiningNode(value, "Mul"), [](Value product, Value half) -> std::optional<Activated> {
        if (!isScalarConstant(half, 0.5))
          return std::nullopt;
        return matchCommuted<Activated>(
            getDefiningNode(product, "Mul"), [](Value x, Value term) -> std::optional<Activated> {
              if (isErfTerm(term, x))
                return Activated{moe::Activation::gelu, x};
              if (isTanhTerm(term, x))
                return Activated{moe::Activation::gelu_tanh, x};
              return std::nullopt;
            });
      });
}

/// relu2, Nemotron-H's squared ReLU: `Pow(Relu(x), 2)` or `Mul(r, r)` with r = `Relu(x)`.
static std::optional<Activated> matchSquaredRelu(Value value) {
  Value relu;
  if (onnx::NodeOp pow = getDefiningNode(value, "Pow");
      pow && isScalarConstant(pow.getInputs()[1], 2.0))
    relu = pow.getInputs()[0];
  else if (onnx::NodeOp mul = getDefiningNode(value, "Mul");
           mul && mul.getInputs()[0] == mul.getInputs()[1])
    relu = mul.getInputs()[0];
  onnx::NodeOp node = relu ? getDefiningNode(relu, "Relu") : onnx::NodeOp();
  if (!node)
    return std::nullopt;
  return Activated{moe::Activation::relu2, node.getInputs()[0]};
}

std::optional<Activated> moec::raise::matchActivation(Value value) {
  if (std::optional<Activated> relu2 = matchSquaredRelu(value))
    return relu2;
  // Opset 20's Gelu, as torch.export writes F.gelu.
  if (onnx::NodeOp gelu = getDefiningNode(value, "Gelu")) {
    StringRef approximate = gelu.getStringAttr("approximate", "none");
    if (approximate == "none")
      return Activated{moe::Activation::gelu, gelu.getInputs()[0]};
    if (approximate == "tanh")
      return Activated{moe::Activation::gelu_tanh, gelu.getInputs()[0]};
    return std::nullopt;
  }
  if (onnx::NodeOp relu = getDefiningNode(value, "Relu"))
    return Activated{moe::Activation::relu, relu.getInputs()[0]};
  if (std::optional<Activated> silu = matchCommuted<Activated>(
          getDefiningNode(value, "Mul"), [](Value x, Value sigmoid) -> std::optional<Activated> {
            onnx::NodeOp node = getDefiningNode(sigmoid, "Sigmoid");
            if (node && node.getInputs()[0] == x)
              return Activated{moe::Activation::silu, x};
            return std::nullopt;
          }))
    return silu;
  return matchGelu(value);
}

/// `Slice(data, [start], [end], [last axis], [2])` with an end past the last column: the
/// sliced tensor, or null.
static Value matchStrideTwoColumns(Value value, int64_t start) {
  onnx::NodeOp slice = getDefiningNode(value, "Slice");
  if (!slice || slice.getInputs().size() != 5)
    return {};
  Value data = slice.getInputs()[0];
  auto type = llvm::dyn_cast<RankedTensorType>(data.getType());
  if (!type || type.isDynamicDim(type.getRank() - 1))
    return {};
  std::optional<SmallVector<int64_t>> starts = getIntConstant(slice.getInputs()[1]);
  std::optional<SmallVector<int64_t>> ends = getIntConstant(slice.getInputs()[2]);
  std::optional<SmallVector<int64_t>> axes = getIntConstant(slice.getInputs()[3]);
  std::optional<SmallVector<int64_t>> steps = getIntConstant(slice.getInputs()[4]);
  int64_t rank = type.getRank();
  if (!starts || !ends || !axes || !steps || starts->size() != 1 || ends->size() != 1 ||
      axes->size() != 1 || steps->size() != 1)
    return {};
  bool lastAxis = (*axes)[0] == -1 || (*axes)[0] == rank - 1;
  if (!lastAxis || (*starts)[0] != start || (*steps)[0] != 2 ||
      (*ends)[0] < type.getDimSize(rank - 1))
    return {};
  return data;
}

namespace {
/// GPT-OSS's clamped SwiGLU over interleaved columns of one projection.
struct ClampedSwiGLU {
  Value projection;
  double alpha, limit;
};
} // namespace

/// `Clip(x, min, max)`: x, and the bounds (nothing where absent).
static std::optional<std::tuple<Value, std::optional<double>, std::optional<double>>>
matchClip(Value value) {
  onnx::NodeOp clip = getDefiningNode(value, "Clip");
  if (!clip)
    return std::nullopt;
  std::optional<double> low, high;
  if (clip.hasInput(1) && !(low = getScalarConstant(clip.getInputs()[1])))
    return std::nullopt;
  if (clip.hasInput(2) && !(high = getScalarConstant(clip.getInputs()[2])))
    return std::nullopt;
  return std::make_tuple(clip.getInputs()[0], low, high);
}

/// `(clip(up, -limit, limit) + 1) * (gate * sigmoid(gate * alpha))` with
/// `gate = clip(g, max = limit)`, g and up the even and odd columns of one projection.
static std::optional<ClampedSwiGLU> matchClampedSwiGLU(Value value) {
  auto matchGlu = [](Value glu) -> std::optional<std::pair<Value, double>> {
    return matchCommuted<std::pair<Value, double>>(
        getDefiningNode(glu, "Mul"),
        [](Value gate, Value sigmoid) -> std::optional<std::pair<Value, double>> {
          onnx::NodeOp sig = getDefiningNode(sigmoid, "Sigmoid");
          if (!sig)
            return std::nullopt;
          return matchCommuted<std::pair<Value, double>>(
              getDefiningNode(sig.getInputs()[0], "Mul"),
              [&](Value g, Value alpha) -> std::optional<std::pair<Value, double>> {
                std::optional<double> a = getScalarConstant(alpha);
                if (g != gate || !a)
                  return std::nullopt;
                return std::make_pair(gate, *a);
              });
        });
  };
  return matchCommuted<ClampedSwiGLU>(
      getDefiningNode(value, "Mul"), [&](Value upTerm, Value glu) -> std::optional<ClampedSwiGLU> {
        auto gluMatch = matchGlu(glu);
        if (!gluMatch)
          return std::nullopt;
        auto gateClip = matchClip(gluMatch->first);
        auto upClip = matchClip(matchPlusOne(upTerm));
        if (!gateClip || !upClip)
          return std::nullopt;
        auto [gateColumns, gateLow, limit] = *gateClip;
        auto [upColumns, upLow, upHigh] = *upClip;
        if (gateLow || !limit || !upLow || !upHigh || *upHigh != *limit || *upLow != -*limit)
          return std::nullopt;
        Value projection = matchStrideTwoColumns(gateColumns, 0);
        if (!projection || projection != matchStrideTwoColumns(upColumns, 1))
          return std::nullopt;
        return ClampedSwiGLU{projection, gluMatch->second, *limit};
      });
}

/// For a gated SiLU `silu(gate) * up`: DeepSeek-V4's and HY-V4's clamping of its operands,
/// `gate = Clip(g, max = limit)` and `up = Clip(u, -limit, limit)`, makes it `silu_clamped`
/// over g and u. Operands that are no Clips are left as they are; clamping of another form
/// (one operand only, other bounds) is no activation moe knows, and fails with the reason.
static LogicalResult matchClampedSiLU(ExpertBody &body, Value &gate, Value &up,
                                      Reason &reason) {
  if (!getDefiningNode(gate, "Clip") && !getDefiningNode(up, "Clip"))
    return success();
  auto gateClip = matchClip(gate);
  auto upClip = matchClip(up);
  std::optional<double> limit;
  if (gateClip && !std::get<1>(*gateClip) && std::get<2>(*gateClip) &&
      *std::get<2>(*gateClip) > 0.0)
    limit = std::get<2>(*gateClip);
  if (limit && upClip && std::get<1>(*upClip) == -*limit && std::get<2>(*upClip) == *limit) {
    body.activation = moe::Activation::silu_clamped;
    body.limit = *limit;
    gate = std::get<0>(*gateClip);
    up = std::get<0>(*upClip);
    return success();
  }
  // The operand that is not clamped as silu_clamped clamps it.
  Value offending = limit ? up : gate;
  Operation *op = offending.getDefiningOp();
  return reason = "unknown activation: the " + std::string(limit ? "up" : "gate") +
                  " of the SwiGLU is " + (op ? describe(op) : std::string("a block argument")) +
                  ", not clamped as silu_clamped clamps it (the gate to at most a positive "
                  "limit, the up to [-limit, limit])",
         failure();
}

/// `value` as one half of the last axis of some tensor: an output of a Split in two equal
/// parts along the last axis, or a Slice of the first or second half of it (step 1). The
/// halved tensor and which half (0 or 1), or nothing.
static std::optional<std::pair<Value, unsigned>> matchHalf(Value value) {
  auto type = llvm::dyn_cast<RankedTensorType>(value.getType());
  if (!type || type.getRank() == 0 || type.isDynamicDim(type.getRank() - 1))
    return std::nullopt;
  int64_t rank = type.getRank(), half = type.getDimSize(rank - 1);
  auto isLastAxis = [&](int64_t axis) { return axis == -1 || axis == rank - 1; };
  auto halvedData = [&](Value data) {
    auto dataType = llvm::dyn_cast<RankedTensorType>(data.getType());
    return dataType && dataType.getRank() == rank && dataType.getDimSize(rank - 1) == 2 * half;
  };
  if (onnx::NodeOp split = getDefiningNode(value, "Split")) {
    Value data = split.getInputs()[0];
    std::optional<SmallVector<int64_t>> sizes =
        split.hasInput(1) ? getIntConstant(split.getInputs()[1]) : split.getIntsAttr("split");
    bool equalParts = !sizes || *sizes == SmallVector<int64_t>{half, half};
    if (split->getNumResults() != 2 || !isLastAxis(split.getIntAttr("axis", 0)) ||
        !equalParts || !halvedData(data))
      return std::nullopt;
    return std::make_pair(data, llvm::cast<OpResult>(value).getResultNumber());
  }
  onnx::NodeOp slice = getDefiningNode(value, "Slice");
  if (!slice || slice.getInputs().size() < 4 || !halvedData(slice.getInputs()[0]))
    return std::nullopt;
  std::optional<SmallVector<int64_t>> starts = getIntConstant(slice.getInputs()[1]);
  std::optional<SmallVector<int64_t>> ends = getIntConstant(slice.getInputs()[2]);
  std::optional<SmallVector<int64_t>> axes = getIntConstant(slice.getInputs()[3]);
  std::optional<SmallVector<int64_t>> steps =
      slice.hasInput(4) ? getIntConstant(slice.getInputs()[4]) : SmallVector<int64_t>{1};
  if (!starts || !ends || !axes || !steps || starts->size() != 1 || ends->size() != 1 ||
      axes->size() != 1 || *steps != SmallVector<int64_t>{1} || !isLastAxis((*axes)[0]))
    return std::nullopt;
  if ((*starts)[0] == 0 && (*ends)[0] == half)
    return std::make_pair(slice.getInputs()[0], 0u);
  if ((*starts)[0] == half && (*ends)[0] >= 2 * half)
    return std::make_pair(slice.getInputs()[0], 1u);
  return std::nullopt;
}

/// The projection producing `value` from `input`.
static FailureOr<Linear>
matchProjectionOf(Value value, Value input, Reason &reason,
                  function_ref<FailureOr<Linear>(Value, Reason &)> matchProjection) {
  FailureOr<Linear> linear = matchProjection(value, reason);
  if (failed(linear))
    return failure();
  if (input && linear->input != input)
    return reason = "a projection of the expert does not read the expert's input", failure();
  return linear;
}

FailureOr<ExpertBody>
moec::raise::matchExpertBody(Value input, Value output, Reason &reason,
                             function_ref<FailureOr<Linear>(Value, Reason &)> matchProjection) {
  ExpertBody body;
  FailureOr<Linear> down = matchProjection(output, reason);
  if (failed(down))
    return failure();
  body.down = *down;
  Value hidden = down->input;

  if (std::optional<ClampedSwiGLU> clamped = matchClampedSwiGLU(hidden)) {
    FailureOr<Linear> up = matchProjectionOf(clamped->projection, input, reason, matchProjection);
    if (failed(up))
      return failure();
    body.activation = moe::Activation::swiglu_clamped;
    body.gated = body.interleaved = true;
    body.alpha = clamped->alpha;
    body.limit = clamped->limit;
    body.up = *up;
  } else if (std::optional<Activated> plain = matchActivation(hidden);
             plain && succeeded(matchProjection(plain->input, reason))) {
    FailureOr<Linear> up = matchProjectionOf(plain->input, input, reason, matchProjection);
    if (failed(up))
      return failure();
    body.activation = plain->activation;
    body.up = *up;
  } else {
    auto gated = matchCommuted<std::pair<Activated, Value>>(
        getDefiningNode(hidden, "Mul"),
        [](Value activated, Value up) -> std::optional<std::pair<Activated, Value>> {
          std::optional<Activated> act = matchActivation(activated);
          if (!act)
            return std::nullopt;
          return std::make_pair(*act, up);
        });
    if (!gated) {
      // An activation of something that is no projection: `reason` says why not.
      if (plain)
        return failure();
      Operation *op = hidden.getDefiningOp();
      return reason = "unknown activation: " +
                      (op ? describe(op) : std::string("a block argument")) +
                      " feeds the down projection",
             failure();
    }
    body.activation = gated->first.activation;
    body.gated = true;
    Value gateInput = gated->first.input, upInput = gated->second;
    if (body.activation == moe::Activation::silu &&
        failed(matchClampedSiLU(body, gateInput, upInput, reason)))
      return failure();
    std::optional<std::pair<Value, unsigned>> gateHalf = matchHalf(gateInput);
    std::optional<std::pair<Value, unsigned>> upHalf = matchHalf(upInput);
    if (gateHalf && upHalf && gateHalf->first == upHalf->first) {
      if (gateHalf->second != 0 || upHalf->second != 1)
        return reason = "the activation takes the second half of the fused gate and up "
                        "projection (moe.layer's gate columns come first)",
               failure();
      FailureOr<Linear> up = matchProjectionOf(gateHalf->first, input, reason, matchProjection);
      if (failed(up))
        return failure();
      body.halves = true;
      body.up = *up;
    } else {
      FailureOr<Linear> gate = matchProjectionOf(gateInput, input, reason, matchProjection);
      if (failed(gate))
        return failure();
      FailureOr<Linear> up = matchProjectionOf(upInput, input, reason, matchProjection);
      if (failed(up))
        return failure();
      if (gate->input != up->input)
        return reason = "the gate and up projections read different inputs", failure();
      body.gate = *gate;
      body.up = *up;
    }
  }

  int64_t inner = body.up.getOutSize() / (body.interleaved || body.halves ? 2 : 1);
  if ((body.interleaved && body.up.getOutSize() % 2 != 0) ||
      (body.gate && body.gate->getOutSize() != inner) || body.down.getInSize() != inner ||
      body.down.getOutSize() != body.up.getInSize())
    return reason = "the expert's projections have mismatched shapes", failure();
  return body;
}

moe::ExpertAttr ExpertBody::getAttr(MLIRContext *context) const {
  return moe::ExpertAttr::get(context, activation, gated, llvm::APFloat(alpha),
                              llvm::APFloat(limit));
}

bool ExpertBody::isSameKind(const ExpertBody &other) const {
  auto sameShape = [](const Linear &a, const Linear &b) {
    return a.getInSize() == b.getInSize() && a.getOutSize() == b.getOutSize() &&
           bool(a.bias) == bool(b.bias) &&
           getElementTypeOrSelf(a.weight.getType()) == getElementTypeOrSelf(b.weight.getType());
  };
  return activation == other.activation && gated == other.gated &&
         interleaved == other.interleaved && halves == other.halves && alpha == other.alpha &&
         limit == other.limit &&
         bool(gate) == bool(other.gate) && (!gate || sameShape(*gate, *other.gate)) &&
         sameShape(up, other.up) && sameShape(down, other.down);
}

/// Whether `reshape` flattens its input to `[?, H]` rows, H the input's last dimension.
static bool isRowFlattening(onnx::NodeOp reshape) {
  auto resultType = llvm::dyn_cast<RankedTensorType>(reshape.getResult(0).getType());
  auto inputType = llvm::dyn_cast<RankedTensorType>(reshape.getInputs()[0].getType());
  return resultType && inputType && resultType.getRank() == 2 && inputType.getRank() >= 2 &&
         !resultType.isDynamicDim(1) &&
         inputType.getDimSize(inputType.getRank() - 1) == resultType.getDimSize(1);
}

std::optional<SharedExpert> moec::raise::matchSharedExpert(Value sum, Value tokens,
                                                          const ExpertBody &routed) {
  SharedExpert shared;
  Value routedOut = sum, input = tokens;
  if (onnx::NodeOp view = getSingleUser(sum, "Reshape"); view && sum.hasOneUse()) {
    onnx::NodeOp flatten = getDefiningNode(tokens, "Reshape");
    if (!flatten || !isRowFlattening(flatten) ||
        view.getResult(0).getType() != flatten.getInputs()[0].getType() ||
        !isShapeOf(view.getInputs()[1], flatten.getInputs()[0]))
      return std::nullopt;
    shared.unflattenedSum = routedOut = view.getResult(0);
    input = flatten.getInputs()[0];
  }
  onnx::NodeOp add = getSingleUser(routedOut, "Add");
  if (!add || !routedOut.hasOneUse())
    return std::nullopt;
  Value term = add.getInputs()[add.getInputs()[0] == routedOut ? 1 : 0];
  shared.result = add.getResult(0);
  Value sharedOut = term;
  if (onnx::NodeOp mul = getDefiningNode(term, "Mul")) {
    Reason ignored;
    std::optional<unsigned> gateIndex = matchEitherInput(mul, [&](Value value) {
      onnx::NodeOp sigmoid = getDefiningNode(value, "Sigmoid");
      if (!sigmoid)
        return false;
      FailureOr<Linear> gate = matchLinear(sigmoid.getInputs()[0], ignored);
      if (failed(gate) || gate->input != input || gate->getOutSize() != 1 || gate->bias)
        return false;
      shared.gate = *gate;
      return true;
    });
    if (gateIndex)
      sharedOut = mul.getInputs()[1 - *gateIndex];
  }
  Reason ignored;
  FailureOr<ExpertBody> body = matchExpertBody(input, sharedOut, ignored);
  // moe.layer's shared expert has the routed experts' body and no biases.
  if (failed(body) || body->activation != routed.activation || body->gated != routed.gated ||
      body->alpha != routed.alpha || body->limit != routed.limit || body->interleaved || (body->gate && body->gate->bias) || body->up.bias || body->down.bias)
    return std::nullopt;
  shared.body = std::move(*body);
  return shared;
}
