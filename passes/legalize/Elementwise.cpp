//===- Elementwise.cpp - Arithmetic, activations, comparisons, casts ------===//
//
// Every op here computes each output element from the elements at the same (broadcast)
// position of its inputs, so all of them lower to one linalg.generic through
// buildElementwise; they differ only in the scalar computation.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Support/DebugStringHelper.h"

#include <functional>

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

namespace {

/// What an elementwise op computes from its input elements. `node` gives attributes and
/// ONNX's signedness; `resultType` is the (signless) output element type.
using ScalarFn =
    std::function<Value(OpBuilder &, Location, ValueRange, const Node &, Type resultType)>;

/// Creates a float or integer constant of `type`.
Value constantOf(OpBuilder &b, Location loc, Type type, double value) {
  if (llvm::isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type, b.getFloatAttr(type, value));
  return arith::ConstantOp::create(b, loc, type, b.getIntegerAttr(type, int64_t(value)));
}

bool isFloat(Value v) { return llvm::isa<FloatType>(v.getType()); }

/// Chooses between the float, signed and unsigned forms of an arithmetic op by the
/// element type of input 0 as ONNX declared it.
template <typename FloatOp, typename SignedOp, typename UnsignedOp>
ScalarFn arithmetic() {
  return [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) -> Value {
    if (isFloat(args[0]))
      return FloatOp::create(b, loc, args[0], args[1]);
    if (node.getInputElementType(0).isUnsignedInteger())
      return UnsignedOp::create(b, loc, args[0], args[1]);
    return SignedOp::create(b, loc, args[0], args[1]);
  };
}

template <typename FloatOp, typename IntOp>
ScalarFn arithmetic() {
  return arithmetic<FloatOp, IntOp, IntOp>();
}

template <typename FloatOp>
ScalarFn floatUnary() {
  return [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) -> Value {
    return FloatOp::create(b, loc, args[0]);
  };
}

ScalarFn comparison(arith::CmpFPredicate floatPredicate, arith::CmpIPredicate signedPredicate,
                    arith::CmpIPredicate unsignedPredicate) {
  return [=](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) -> Value {
    if (isFloat(args[0]))
      return arith::CmpFOp::create(b, loc, floatPredicate, args[0], args[1]);
    bool isUnsigned = node.getInputElementType(0).isUnsignedInteger();
    return arith::CmpIOp::create(b, loc, isUnsigned ? unsignedPredicate : signedPredicate,
                                 args[0], args[1]);
  };
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = constantOf(b, loc, x.getType(), 1.0);
  Value negExp = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, negExp));
}

Value maxOf(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isFloat(x))
    return arith::MaximumFOp::create(b, loc, x, y);
  if (isUnsigned)
    return arith::MaxUIOp::create(b, loc, x, y);
  return arith::MaxSIOp::create(b, loc, x, y);
}

Value minOf(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isFloat(x))
    return arith::MinimumFOp::create(b, loc, x, y);
  if (isUnsigned)
    return arith::MinUIOp::create(b, loc, x, y);
  return arith::MinSIOp::create(b, loc, x, y);
}

/// Converts a scalar from ONNX element type `from` to `to` with ONNX's Cast semantics
/// (float to integer truncates toward zero; anything to bool is `!= 0`).
Value castScalar(OpBuilder &b, Location loc, Value x, Type from, Type to) {
  Type signlessTo = to.isInteger() ? b.getIntegerType(to.getIntOrFloatBitWidth()) : to;
  if (x.getType() == signlessTo)
    return x;
  bool fromUnsigned = from.isUnsignedInteger() || from.isInteger(1);
  if (signlessTo.isInteger(1)) {
    Value zero = constantOf(b, loc, x.getType(), 0);
    if (isFloat(x))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x, zero);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x, zero);
  }
  if (auto toFloat = llvm::dyn_cast<FloatType>(signlessTo)) {
    if (auto fromFloat = llvm::dyn_cast<FloatType>(x.getType()))
      return fromFloat.getWidth() < toFloat.getWidth()
                 ? Value(arith::ExtFOp::create(b, loc, toFloat, x))
                 : Value(arith::TruncFOp::create(b, loc, toFloat, x));
    if (fromUnsigned)
      return arith::UIToFPOp::create(b, loc, toFloat, x);
    return arith::SIToFPOp::create(b, loc, toFloat, x);
  }
  if (isFloat(x))
    return to.isUnsignedInteger() ? Value(arith::FPToUIOp::create(b, loc, signlessTo, x))
                                  : Value(arith::FPToSIOp::create(b, loc, signlessTo, x));
  unsigned fromWidth = x.getType().getIntOrFloatBitWidth();
  unsigned toWidth = signlessTo.getIntOrFloatBitWidth();
  if (fromWidth > toWidth)
    return arith::TruncIOp::create(b, loc, signlessTo, x);
  if (fromUnsigned)
    return arith::ExtUIOp::create(b, loc, signlessTo, x);
  return arith::ExtSIOp::create(b, loc, signlessTo, x);
}

/// The legalization of one elementwise op type: `fn` over the present inputs, broadcast.
NodePattern::RewriteFn elementwise(ScalarFn fn) {
  return [fn = std::move(fn)](const Node &node, ValueRange inputs,
                              ConversionPatternRewriter &rewriter) -> LogicalResult {
    SmallVector<Value> operands;
    for (auto [index, input] : llvm::enumerate(inputs))
      if (node->hasInput(index))
        operands.push_back(input);
    RankedTensorType resultType = node.getResultType(0);
    Value result = buildElementwise(
        node, rewriter, node->getLoc(), resultType, operands,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return fn(b, loc, args, node, resultType.getElementType());
        });
    rewriter.replaceOp(node.getOp(), result);
    return success();
  };
}

/// Min, Max, Sum and Mean take any number of inputs; they fold pairwise.
ScalarFn variadic(std::function<Value(OpBuilder &, Location, Value, Value, bool)> combine,
                  bool mean = false) {
  return [=](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) -> Value {
    bool isUnsigned = node.getInputElementType(0).isUnsignedInteger();
    Value acc = args[0];
    for (Value arg : args.drop_front())
      acc = combine(b, loc, acc, arg, isUnsigned);
    if (!mean)
      return acc;
    return arith::DivFOp::create(b, loc, acc, constantOf(b, loc, acc.getType(), args.size()));
  };
}

} // namespace

void moec::legalize::populateElementwisePatterns(RewritePatternSet &patterns,
                                                 const TypeConverter &converter) {
  MLIRContext *context = patterns.getContext();
  auto add = [&](StringRef opType, ScalarFn fn) {
    patterns.add<NodePattern>(opType, elementwise(std::move(fn)), converter, context,
                              NodePattern::Inputs::Ranked);
  };
  // An elementwise op whose attributes or types `check` vets first.
  // Only its first `operands` inputs are the elementwise op's operands.
  auto addChecked = [&](StringRef opType, std::function<LogicalResult(const Node &)> check,
                        ScalarFn fn, unsigned operands = ~0u) {
    patterns.add<NodePattern>(
        opType,
        [check = std::move(check), rewrite = elementwise(std::move(fn)),
         operands](const Node &node, ValueRange inputs,
                   ConversionPatternRewriter &rewriter) -> LogicalResult {
          if (failed(check(node)))
            return failure();
          return rewrite(node, inputs.take_front(operands), rewriter);
        },
        converter, context, NodePattern::Inputs::Ranked);
  };
  using Pred = arith::CmpIPredicate;
  using FPred = arith::CmpFPredicate;

  add("Add", arithmetic<arith::AddFOp, arith::AddIOp>());
  add("Sub", arithmetic<arith::SubFOp, arith::SubIOp>());
  add("Mul", arithmetic<arith::MulFOp, arith::MulIOp>());
  add("Div", arithmetic<arith::DivFOp, arith::DivSIOp, arith::DivUIOp>());
  add("Pow", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type type) {
    Value base = args[0], exponent = args[1];
    if (!isFloat(base)) {
      Value result = math::IPowIOp::create(
          b, loc, base, castScalar(b, loc, exponent, node.getInputElementType(1), base.getType()));
      return result;
    }
    exponent = castScalar(b, loc, exponent, node.getInputElementType(1), base.getType());
    return Value(math::PowFOp::create(b, loc, base, exponent));
  });
  add("Mod", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) -> Value {
    if (isFloat(args[0])) {
      Value rem = arith::RemFOp::create(b, loc, args[0], args[1]);
      // C's fmod takes the dividend's sign; fmod 0 (floats from opset 28) takes the
      // divisor's, a - floor(a / b) · b, as Python's modulo: a nonzero remainder of the
      // other sign moves by the divisor, a zero one takes the divisor's sign.
      if (node->getIntAttr("fmod", 0))
        return rem;
      Value zero = constantOf(b, loc, rem.getType(), 0);
      Value remNegative = arith::CmpFOp::create(b, loc, FPred::OLT, rem, zero);
      Value divisorNegative = arith::CmpFOp::create(b, loc, FPred::OLT, args[1], zero);
      // NaN (a zero divisor, an infinite dividend) counts as nonzero, and stays NaN.
      Value remNonZero = arith::CmpFOp::create(b, loc, FPred::UNE, rem, zero);
      Value adjust = arith::AndIOp::create(
          b, loc, arith::XOrIOp::create(b, loc, remNegative, divisorNegative), remNonZero);
      Value signedZero = arith::SelectOp::create(
          b, loc, divisorNegative, arith::NegFOp::create(b, loc, zero), zero);
      return arith::SelectOp::create(
          b, loc, adjust, arith::AddFOp::create(b, loc, rem, args[1]),
          arith::SelectOp::create(b, loc, remNonZero, rem, signedZero));
    }
    if (node.getInputElementType(0).isUnsignedInteger())
      return arith::RemUIOp::create(b, loc, args[0], args[1]);
    if (node->getIntAttr("fmod", 0))
      return arith::RemSIOp::create(b, loc, args[0], args[1]);
    // Python's modulo: the result takes the divisor's sign.
    Value rem = arith::RemSIOp::create(b, loc, args[0], args[1]);
    Value zero = constantOf(b, loc, rem.getType(), 0);
    Value remNegative = arith::CmpIOp::create(b, loc, Pred::slt, rem, zero);
    Value divisorNegative = arith::CmpIOp::create(b, loc, Pred::slt, args[1], zero);
    Value remNonZero = arith::CmpIOp::create(b, loc, Pred::ne, rem, zero);
    Value signsDiffer = arith::XOrIOp::create(b, loc, remNegative, divisorNegative);
    Value adjust = arith::AndIOp::create(b, loc, signsDiffer, remNonZero);
    Value adjusted = arith::AddIOp::create(b, loc, rem, args[1]);
    return arith::SelectOp::create(b, loc, adjust, adjusted, rem);
  });
  add("Max", variadic(maxOf));
  add("Min", variadic(minOf));
  add("Sum", variadic([](OpBuilder &b, Location loc, Value x, Value y, bool) -> Value {
    if (isFloat(x))
      return arith::AddFOp::create(b, loc, x, y);
    return arith::AddIOp::create(b, loc, x, y);
  }));
  add("Mean", variadic(
                  [](OpBuilder &b, Location loc, Value x, Value y, bool) -> Value {
                    return arith::AddFOp::create(b, loc, x, y);
                  },
                  /*mean=*/true));

  add("And", arithmetic<arith::AndIOp, arith::AndIOp>());
  add("Or", arithmetic<arith::OrIOp, arith::OrIOp>());
  add("Xor", arithmetic<arith::XOrIOp, arith::XOrIOp>());
  add("Not", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) -> Value {
    return arith::XOrIOp::create(b, loc, args[0], constantOf(b, loc, args[0].getType(), 1));
  });
  add("Equal", comparison(FPred::OEQ, Pred::eq, Pred::eq));
  add("Less", comparison(FPred::OLT, Pred::slt, Pred::ult));
  add("LessOrEqual", comparison(FPred::OLE, Pred::sle, Pred::ule));
  add("Greater", comparison(FPred::OGT, Pred::sgt, Pred::ugt));
  add("GreaterOrEqual", comparison(FPred::OGE, Pred::sge, Pred::uge));
  add("Where", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) -> Value {
    return arith::SelectOp::create(b, loc, args[0], args[1], args[2]);
  });

  add("Neg", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) -> Value {
    if (isFloat(args[0]))
      return arith::NegFOp::create(b, loc, args[0]);
    return arith::SubIOp::create(b, loc, constantOf(b, loc, args[0].getType(), 0), args[0]);
  });
  add("Abs", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) -> Value {
    if (isFloat(args[0]))
      return math::AbsFOp::create(b, loc, args[0]);
    if (node.getInputElementType(0).isUnsignedInteger())
      return args[0];
    // math.absi has no lowering to LLVM in MLIR 22.
    Value zero = constantOf(b, loc, args[0].getType(), 0);
    Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, args[0], zero);
    return arith::SelectOp::create(b, loc, negative,
                                   arith::SubIOp::create(b, loc, zero, args[0]), args[0]);
  });
  add("Sign", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) -> Value {
    Value x = args[0];
    Value zero = constantOf(b, loc, x.getType(), 0);
    Value one = constantOf(b, loc, x.getType(), 1);
    Value minusOne = constantOf(b, loc, x.getType(), -1);
    bool isUnsigned = node.getInputElementType(0).isUnsignedInteger();
    Value positive = isFloat(x) ? Value(arith::CmpFOp::create(b, loc, FPred::OGT, x, zero))
                                : Value(arith::CmpIOp::create(
                                      b, loc, isUnsigned ? Pred::ugt : Pred::sgt, x, zero));
    Value negative = isFloat(x) ? Value(arith::CmpFOp::create(b, loc, FPred::OLT, x, zero))
                                : Value(arith::CmpIOp::create(b, loc, Pred::slt, x, zero));
    Value sign = arith::SelectOp::create(b, loc, positive, one, zero);
    if (isUnsigned)
      return sign;
    return arith::SelectOp::create(b, loc, negative, minusOne, sign);
  });
  add("Sqrt", floatUnary<math::SqrtOp>());
  add("Exp", floatUnary<math::ExpOp>());
  add("Log", floatUnary<math::LogOp>());
  add("Tanh", floatUnary<math::TanhOp>());
  add("Erf", floatUnary<math::ErfOp>());
  add("Sin", floatUnary<math::SinOp>());
  add("Cos", floatUnary<math::CosOp>());
  add("Floor", floatUnary<math::FloorOp>());
  add("Ceil", floatUnary<math::CeilOp>());
  add("Round", floatUnary<math::RoundEvenOp>());
  add("Reciprocal", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) {
    return Value(
        arith::DivFOp::create(b, loc, constantOf(b, loc, args[0].getType(), 1.0), args[0]));
  });
  add("Relu", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) {
    return maxOf(b, loc, args[0], constantOf(b, loc, args[0].getType(), 0), false);
  });
  add("Sigmoid", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) {
    return sigmoid(b, loc, args[0]);
  });
  // Gelu is an op of the default domain from opset 20.
  auto checkGelu = [](const Node &node) -> LogicalResult {
    StringRef approximate = node->getStringAttr("approximate", "none");
    if (approximate != "none" && approximate != "tanh")
      return node.fail("approximate '" + approximate + "' is not one of none, tanh");
    return success();
  };
  addChecked(
      "Gelu", checkGelu, [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) {
        Value x = args[0];
        Type type = x.getType();
        Value half = constantOf(b, loc, type, 0.5);
        Value one = constantOf(b, loc, type, 1.0);
        Value inner;
        if (node->getStringAttr("approximate", "none") == "tanh") {
          // 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
          Value cube = arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
          Value poly = arith::AddFOp::create(
              b, loc, x, arith::MulFOp::create(b, loc, constantOf(b, loc, type, 0.044715), cube));
          inner = math::TanhOp::create(
              b, loc,
              arith::MulFOp::create(b, loc, constantOf(b, loc, type, 0.7978845608028654), poly));
        } else {
          // 0.5 x (1 + erf(x / sqrt(2)))
          inner = math::ErfOp::create(
              b, loc,
              arith::MulFOp::create(b, loc, x, constantOf(b, loc, type, 0.7071067811865476)));
        }
        Value scaled = arith::MulFOp::create(b, loc, half, x);
        return Value(
            arith::MulFOp::create(b, loc, scaled, arith::AddFOp::create(b, loc, one, inner)));
      });
  add("LeakyRelu", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) {
    Value x = args[0];
    Value zero = constantOf(b, loc, x.getType(), 0);
    Value scaled =
        arith::MulFOp::create(b, loc, x, constantOf(b, loc, x.getType(), node->getFloatAttr("alpha", 0.01)));
    Value positive = arith::CmpFOp::create(b, loc, FPred::OGT, x, zero);
    return Value(arith::SelectOp::create(b, loc, positive, x, scaled));
  });
  add("PRelu", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) {
    Value x = args[0];
    Value zero = constantOf(b, loc, x.getType(), 0);
    Value positive = arith::CmpFOp::create(b, loc, FPred::OGT, x, zero);
    return Value(arith::SelectOp::create(b, loc, positive, x,
                                         arith::MulFOp::create(b, loc, x, args[1])));
  });
  // log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)), which exp does not overflow for
  // large x (softplus(100) is 100, not infinity).
  add("Softplus", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) {
    Value x = args[0];
    Value tail = math::Log1pOp::create(
        b, loc,
        math::ExpOp::create(b, loc,
                            arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x))));
    return Value(arith::AddFOp::create(
        b, loc, maxOf(b, loc, x, constantOf(b, loc, x.getType(), 0), false), tail));
  });
  add("HardSigmoid", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) {
    Value x = args[0];
    Type type = x.getType();
    Value linear = arith::AddFOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, constantOf(b, loc, type, node->getFloatAttr("alpha", 0.2))),
        constantOf(b, loc, type, node->getFloatAttr("beta", 0.5)));
    return minOf(b, loc, maxOf(b, loc, linear, constantOf(b, loc, type, 0), false),
                 constantOf(b, loc, type, 1), false);
  });
  add("Clip", [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) {
    // Opset 11 and later give min and max as optional inputs (already among `args` when
    // present); earlier opsets as attributes.
    Value x = args[0];
    bool isUnsigned = node.getInputElementType(0).isUnsignedInteger();
    if (node->getInputs().size() == 1) {
      if (node->hasNodeAttr("min"))
        x = maxOf(b, loc, x, constantOf(b, loc, x.getType(), node->getFloatAttr("min", 0)), false);
      if (node->hasNodeAttr("max"))
        x = minOf(b, loc, x, constantOf(b, loc, x.getType(), node->getFloatAttr("max", 0)), false);
      return x;
    }
    unsigned next = 1;
    if (node->hasInput(1))
      x = maxOf(b, loc, x, args[next++], isUnsigned);
    if (node->hasInput(2))
      x = minOf(b, loc, x, args[next], isUnsigned);
    return x;
  });
  // Cast and CastLike. Opset 19 added the 8-bit floats and `saturate` (how they take
  // values out of their range), 21 the 4-bit integers, 23 the 4-bit float, 24 float8e8m0
  // and `round_mode` (how it rounds), 25 the 2-bit integers: castScalar knows none of those
  // conversions, so a cast from or to them is refused, and `saturate` and `round_mode`,
  // which mean nothing for the other types, are ignored.
  // CastLike's second input gives only the element type: the result has the first
  // input's shape, which is all the elementwise body reads.
  for (StringRef opType : {"Cast", "CastLike"})
    addChecked(
        opType,
        [](const Node &node) -> LogicalResult {
          Type from = node.getInputElementType(0), to = node.getResultElementType(0);
          auto isNarrow = [](Type type) {
            unsigned width = type.getIntOrFloatBitWidth();
            return llvm::isa<FloatType>(type) ? width <= 8 : width > 1 && width < 8;
          };
          if (isNarrow(from) || isNarrow(to))
            return node.fail("casts from or to floats of 8 bits or fewer and integers of 2 "
                             "or 4 bits are not supported yet (" +
                             debugString(from) + " to " + debugString(to) + ")");
          return success();
        },
        [](OpBuilder &b, Location loc, ValueRange args, const Node &node, Type) {
          return castScalar(b, loc, args[0], node.getInputElementType(0),
                            node.getResultElementType(0));
        },
        /*operands=*/1);
  // BitCast (26): the same bits as another type of their width. A bool is one bit here and
  // one byte (0 or 1) in ONNX: to an 8-bit integer it widens, and a byte is true when not
  // zero. Between integers of one width, signless here, nothing changes; the types Cast
  // refuses are refused.
  addChecked(
      "BitCast",
      [](const Node &node) -> LogicalResult {
        Type from = node.getInputElementType(0), to = node.getResultElementType(0);
        auto bits = [](Type type) {
          unsigned width = type.getIntOrFloatBitWidth();
          return width == 1 ? 8u : width;
        };
        auto isHeld = [&](Type type) {
          return type.isIntOrFloat() && bits(type) >= (llvm::isa<FloatType>(type) ? 16u : 8u);
        };
        if (!isHeld(from) || !isHeld(to) || bits(from) != bits(to))
          return node.fail("bitcasts between types of one width of 8 bits or more (16 for "
                           "floats) are supported (" +
                           debugString(from) + " to " + debugString(to) + ")");
        return success();
      },
      [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type resultType) -> Value {
        Value x = args[0];
        if (x.getType() == resultType)
          return x;
        if (x.getType().isInteger(1))
          return arith::ExtUIOp::create(b, loc, resultType, x);
        if (resultType.isInteger(1))
          return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x,
                                       constantOf(b, loc, x.getType(), 0));
        return arith::BitcastOp::create(b, loc, resultType, x);
      });
  add("Identity", [](OpBuilder &, Location, ValueRange args, const Node &, Type) {
    return args[0];
  });
  add("IsNaN", [](OpBuilder &b, Location loc, ValueRange args, const Node &, Type) {
    return Value(arith::CmpFOp::create(b, loc, FPred::UNO, args[0], args[0]));
  });
}
