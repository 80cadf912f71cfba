//===- Recurrences.cpp - LinearAttention as a loop over the sequence ------===//
//
// LinearAttention (opset 27; onnxruntime's com.microsoft op is rewritten into it) carries
// one state S [dk, dv] per batch row and KV head from token to token. It is an scf.for over
// the tokens whose body updates S and reads it with one linalg.generic per step of the
// update rule, in float32 for narrower floats, as ONNX's reference and onnxruntime compute:
//   linear:      S = S + k vᵀ
//   gated:       S = exp(g) S + k vᵀ
//   delta:       S = S + β k (v - Sᵀ k)ᵀ
//   gated_delta: S = exp(g) S, then as delta
// and then o = scale · Sᵀ q for each query head of the KV head's group.
//
//===----------------------------------------------------------------------===//

#include "ReductionBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"

#include <cmath>

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

namespace {

/// Token `step` of `value` [B, T, ...]: [B, ...].
Value sliceToken(OpBuilder &b, Location loc, Value value, Value step) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes,
      strides(rank, b.getIndexAttr(1));
  offsets[1] = step;
  for (int64_t dim = 0; dim < rank; ++dim)
    sizes.push_back(dim == 1 ? OpFoldResult(b.getIndexAttr(1))
                             : tensor::getMixedSize(b, loc, value, dim));
  SmallVector<int64_t> shape(type.getShape());
  shape.erase(shape.begin() + 1);
  return tensor::ExtractSliceOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()),
                                        value, offsets, sizes, strides);
}

/// `value` [B, T, heads · size] as [B, T, heads..., size] (`heads` one or two dims).
Value splitHeads(OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> heads) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape = {type.getDimSize(0), type.getDimSize(1)};
  llvm::append_range(shape, heads);
  int64_t grouped = 1;
  for (int64_t count : heads)
    grouped *= count;
  shape.push_back(type.getDimSize(2) / grouped);
  ReassociationIndices last = llvm::to_vector(llvm::seq<int64_t>(2, shape.size()));
  return tensor::ExpandShapeOp::create(b, loc, RankedTensorType::get(shape, type.getElementType()),
                                       value, ArrayRef<ReassociationIndices>{{0}, {1}, last});
}

/// A linalg.generic over `dims` loops (the trailing `reductions` of them reduce) that reads
/// `inputs` through `maps` and updates `init` through `initMap`; `body` gets the input
/// elements and the current output element.
Value buildGeneric(OpBuilder &b, Location loc, unsigned dims, unsigned reductions,
                   ValueRange inputs, ArrayRef<AffineMap> maps, Value init, AffineMap initMap,
                   function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<AffineMap> indexingMaps(maps);
  indexingMaps.push_back(initMap);
  SmallVector<utils::IteratorType> iterators(dims - reductions, utils::IteratorType::parallel);
  iterators.append(reductions, utils::IteratorType::reduction);
  return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
                                   indexingMaps, iterators,
                                   [&](OpBuilder &nb, Location nl, ValueRange args) {
                                     linalg::YieldOp::create(nb, nl, body(nb, nl, args));
                                   })
      .getResult(0);
}

/// Zeros of `shape` whose dynamic dims are `dynamic`.
Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type element, ValueRange dynamic) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, element, dynamic);
  return filled(b, loc, empty, scalarConstant(b, loc, element, 0));
}

/// The map from `dims` loops to the loops in `results`.
AffineMap loopsMap(MLIRContext *context, unsigned dims, ArrayRef<unsigned> results) {
  return AffineMap::getMultiDimMapWithTargets(dims, results, context);
}

struct LegalizeLinearAttention : NodePattern {
  LegalizeLinearAttention(const TypeConverter &converter, MLIRContext *context)
      : NodePattern("LinearAttention", converter, context, Inputs::Ranked) {}

  LogicalResult rewrite(const Node &node, ValueRange inputs,
                        ConversionPatternRewriter &rewriter) const override {
    Location loc = node->getLoc();
    MLIRContext *context = rewriter.getContext();
    StringRef rule = node->getStringAttr("update_rule", "gated_delta");
    bool gated = rule == "gated" || rule == "gated_delta";
    bool delta = rule == "delta" || rule == "gated_delta";
    if (!gated && !delta && rule != "linear")
      return node.fail("update_rule '" + rule +
                       "' is not one of linear, gated, delta, gated_delta");
    int64_t heads = node->getIntAttr("q_num_heads", 0),
            kvHeads = node->getIntAttr("kv_num_heads", 0);
    if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
      return node.fail("q_num_heads must be a positive multiple of kv_num_heads");
    Value decay = gated ? node->getOptionalInput(4) : Value();
    Value beta = delta ? node->getOptionalInput(5) : Value();
    if ((gated && !decay) || (delta && !beta))
      return node.fail("update_rule '" + rule + "' needs the " +
                       (gated && !decay ? "decay" : "beta") + " input");
    decay = decay ? inputs[4] : Value();
    beta = beta ? inputs[5] : Value();
    Value pastState = node->hasInput(3) ? inputs[3] : Value();

    // The hidden sizes, which give the head sizes and the forms of decay and beta.
    SmallVector<int64_t> hidden;
    for (auto [index, input] : llvm::enumerate(inputs.take_front(3))) {
      auto type = cast<RankedTensorType>(input.getType());
      if (type.getRank() != 3 || ShapedType::isDynamic(type.getDimSize(2)))
        return node.fail("input " + Twine(index) +
                         " must be [B, T, hidden] with a known hidden size");
      if (!isa<FloatType>(type.getElementType()))
        return node.fail("input " + Twine(index) + " must be a tensor of floats");
      hidden.push_back(type.getDimSize(2));
    }
    int64_t keySize = hidden[0] / heads, valueSize = hidden[2] / kvHeads;
    if (hidden[0] % heads != 0 || hidden[1] != kvHeads * keySize || hidden[2] % kvHeads != 0)
      return node.fail("the hidden sizes must be q_num_heads · dk (query), kv_num_heads · dk "
                       "(key) and kv_num_heads · dv (value)");
    auto lastDim = [](Value value) {
      return cast<RankedTensorType>(value.getType()).getDimSize(2);
    };
    for (auto [value, name] : {std::pair(decay, "decay"), std::pair(beta, "beta")})
      if (value && cast<RankedTensorType>(value.getType()).getRank() != 3)
        return node.fail(Twine(name) + " must be a tensor of rank 3");
    bool decayPerKey = decay && lastDim(decay) == kvHeads * keySize;
    if (decay && !decayPerKey && lastDim(decay) != kvHeads)
      return node.fail("decay's last dim must be kv_num_heads or kv_num_heads · dk");
    bool betaPerHead = beta && lastDim(beta) == kvHeads;
    if (beta && !betaPerHead && lastDim(beta) != 1)
      return node.fail("beta's last dim must be kv_num_heads or 1");
    SmallVector<int64_t> stateShape = {ShapedType::kDynamic, kvHeads, keySize, valueSize};
    if (pastState) {
      auto type = cast<RankedTensorType>(pastState.getType());
      if (type.getRank() != 4 || type.getShape().drop_front() != ArrayRef(stateShape).drop_front())
        return node.fail("past_state must be [B, " + Twine(kvHeads) + ", " + Twine(keySize) + ", " +
                         Twine(valueSize) + "]");
    }
    Value query = inputs[0];
    for (auto [value, name] : {std::pair(inputs[1], "key"), std::pair(inputs[2], "value"),
                               std::pair(decay, "decay"), std::pair(beta, "beta")})
      for (int64_t dim : {0, 1})
        if (value && failed(requireDim(node, rewriter, loc, value, name, dim, query, "the query",
                                       dim, /*atMost=*/false)))
          return failure();
    if (pastState && failed(requireDim(node, rewriter, loc, pastState, "past_state", 0, query,
                                       "the query", 0, /*atMost=*/false)))
      return failure();

    // Everything in the compute type, split into heads: query [B, T, Hkv, G, dk], key
    // [B, T, Hkv, dk], value [B, T, Hkv, dv], a per-key decay [B, T, Hkv, dk].
    Type outputElement = node.getResultType(0).getElementType();
    Type compute = computeFloatType(outputElement);
    auto convert = [&](Value value) { return convertFloats(node, rewriter, loc, value, compute); };
    int64_t group = heads / kvHeads;
    query = splitHeads(rewriter, loc, convert(query), {kvHeads, group});
    Value key = splitHeads(rewriter, loc, convert(inputs[1]), {kvHeads});
    Value value = splitHeads(rewriter, loc, convert(inputs[2]), {kvHeads});
    if (decay)
      decay = decayPerKey ? splitHeads(rewriter, loc, convert(decay), {kvHeads}) : convert(decay);
    if (beta)
      beta = convert(beta);
    Value batch = tensor::DimOp::create(rewriter, loc, query, 0);
    Value length = tensor::DimOp::create(rewriter, loc, query, 1);
    Value initialState = pastState ? castToType(rewriter, loc, convert(pastState),
                                                RankedTensorType::get(stateShape, compute))
                                   : zeros(rewriter, loc, stateShape, compute, batch);
    Value initialOutput = tensor::EmptyOp::create(
        rewriter, loc,
        SmallVector<int64_t>{ShapedType::kDynamic, ShapedType::kDynamic, kvHeads, group, valueSize},
        compute, ValueRange{batch, length});

    // Loops of the state's generics: (b, h, i, j) over [B, Hkv, dk, dv].
    auto map = [&](unsigned dims, ArrayRef<unsigned> results) {
      return loopsMap(context, dims, results);
    };
    AffineMap state4 = map(4, {0, 1, 2, 3}), key4 = map(4, {0, 1, 2}), value4 = map(4, {0, 1, 3});
    // A beta shared by the heads, [B, 1], is read at column 0 for every head.
    AffineMap betaMap =
        betaPerHead
            ? map(4, {0, 1})
            : AffineMap::get(
                  4, 0, {getAffineDimExpr(0, context), getAffineConstantExpr(0, context)}, context);
    AffineMap decayMap = decayPerKey ? map(4, {0, 1, 2}) : map(4, {0, 1});
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(
        rewriter, loc, zero, length, one, ValueRange{initialState, initialOutput},
        [&](OpBuilder &b, Location l, Value step, ValueRange carried) {
          Value state = carried[0];
          Value keyToken = sliceToken(b, l, key, step), valueToken = sliceToken(b, l, value, step);
          if (decay) {
            // [B, Hkv, dk] per key, [B, Hkv] per head.
            Value decayToken = sliceToken(b, l, decay, step);
            state = buildGeneric(b, l, 4, 0, decayToken, decayMap, state, state4,
                                 [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                                   return arith::MulFOp::create(
                                       nb, nl, args[1], math::ExpOp::create(nb, nl, args[0]));
                                 });
          }
          if (delta) {
            // β (v - Sᵀ k): what the state should have read for this key, less what it reads.
            Value read = buildGeneric(
                b, l, 4, 1, {state, keyToken}, {map(4, {0, 1, 3, 2}), map(4, {0, 1, 3})},
                zeros(b, l, {ShapedType::kDynamic, kvHeads, valueSize}, compute, batch),
                map(4, {0, 1, 2}), [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                  return arith::AddFOp::create(nb, nl, args[2],
                                               arith::MulFOp::create(nb, nl, args[0], args[1]));
                });
            Value betaToken = sliceToken(b, l, beta, step);
            state = buildGeneric(
                b, l, 4, 0, {keyToken, valueToken, read, betaToken},
                {key4, value4, value4, betaMap}, state, state4,
                [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                  Value correction = arith::MulFOp::create(
                      nb, nl, args[3], arith::SubFOp::create(nb, nl, args[1], args[2]));
                  return arith::AddFOp::create(nb, nl, args[4],
                                               arith::MulFOp::create(nb, nl, args[0], correction));
                });
          } else {
            state = buildGeneric(b, l, 4, 0, {keyToken, valueToken}, {key4, value4}, state, state4,
                                 [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                                   return arith::AddFOp::create(
                                       nb, nl, args[2],
                                       arith::MulFOp::create(nb, nl, args[0], args[1]));
                                 });
          }
          // Sᵀ q for each query head g of KV head h, loops (b, h, g, j, i), summed in place
          // into the output's row for the token (a copy of a strided row would take a
          // library call).
          SmallVector<OpFoldResult> offsets(5, b.getIndexAttr(0)), strides(5, b.getIndexAttr(1));
          offsets[1] = step;
          SmallVector<OpFoldResult> sizes = {batch, b.getIndexAttr(1), b.getIndexAttr(kvHeads),
                                             b.getIndexAttr(group), b.getIndexAttr(valueSize)};
          Value queryToken = sliceToken(b, l, query, step);
          Value row = tensor::ExtractSliceOp::create(
              b, l,
              RankedTensorType::get({ShapedType::kDynamic, kvHeads, group, valueSize}, compute),
              carried[1], offsets, sizes, strides);
          Value zeroedRow = filled(b, l, row, scalarConstant(b, l, compute, 0));
          Value read = buildGeneric(
              b, l, 5, 1, {queryToken, state}, {map(5, {0, 1, 2, 4}), map(5, {0, 1, 4, 3})},
              zeroedRow, map(5, {0, 1, 2, 3}),
              [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                return arith::AddFOp::create(nb, nl, args[2],
                                             arith::MulFOp::create(nb, nl, args[0], args[1]));
              });
          Value output =
              tensor::InsertSliceOp::create(b, l, read, carried[1], offsets, sizes, strides);
          scf::YieldOp::create(b, l, ValueRange{state, output});
        });

    // scale · output in the output's type, [B, T, Hq · dv]; the state in past_state's.
    double scale = node->getFloatAttr("scale", 0.0);
    if (scale == 0.0)
      scale = 1.0 / std::sqrt(static_cast<double>(keySize));
    Value rawOutput = loop.getResult(1);
    auto outputType = cast<RankedTensorType>(rawOutput.getType()).clone(outputElement);
    Value scaled = buildElementwise(
        node, rewriter, loc, outputType, rawOutput, [&](OpBuilder &b, Location l, ValueRange args) {
          Value product =
              arith::MulFOp::create(b, l, args[0], scalarConstant(b, l, compute, scale));
          return castFloat(b, l, product, outputElement);
        });
    Value output = tensor::CollapseShapeOp::create(
        rewriter, loc, scaled, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3, 4}});
    SmallVector<Value> results = {castToType(rewriter, loc, output, node.getResultType(0))};
    if (node->getNumResults() > 1) {
      RankedTensorType stateType = node.getResultType(1);
      Value state =
          convertFloats(node, rewriter, loc, loop.getResult(0), stateType.getElementType());
      results.push_back(castToType(rewriter, loc, state, stateType));
    }
    rewriter.replaceOp(node.getOp(), results);
    return success();
  }
};

} // namespace

void moec::legalize::populateRecurrencePatterns(RewritePatternSet &patterns,
                                                const TypeConverter &typeConverter) {
  patterns.add<LegalizeLinearAttention>(typeConverter, patterns.getContext());
}
