//===- DecomposeMoELayers.cpp - moe.layer to the kernel-level moe ops -----===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Passes/Decompose/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace moec {
#define GEN_PASS_DEF_DECOMPOSEMOELAYERS
#include "passes/decompose/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

/// Why the kernels cannot run `layer` yet, if they cannot.
static std::optional<std::string> unsupportedReason(LayerOp layer) {
  if (!layer.getRouting().isDropless())
    return "capacity-limited routing (capacity_factor != 0) is not supported by the MoE "
           "kernels yet";
  if (ShapedType::isDynamic(layer.getNumExperts()))
    return "the number of experts must be static to build the sorted-token layout";
  return std::nullopt;
}

namespace {
/// Builds the kernel level of one layer; every value has the layer's T rows.
class LayerBuilder {
public:
  LayerBuilder(OpBuilder &builder, LayerOp layer)
      : builder(builder), loc(layer.getLoc()), layer(layer),
        elementType(getElementTypeOrSelf(layer.getTokens().getType())),
        staticTokens(layer.getTokens().getType().getDimSize(0)) {
    Value c0 = arith::ConstantIndexOp::create(builder, loc, 0);
    numTokens = tensor::DimOp::create(builder, loc, layer.getTokens(), c0);
  }

  /// The router logits `[T, E]`, `tokens @ router_weight^T (+ router_bias)`.
  Value routerLogits() {
    if (Value logits = layer.getRouterLogits())
      return logits;
    Value routerWeight = layer.getRouterWeight();
    Value transposed = transpose(routerWeight);
    Value init;
    if (Value bias = layer.getRouterBias())
      init = linalg::BroadcastOp::create(builder, loc, bias, emptyRows(layer.getNumExperts()),
                                         ArrayRef<int64_t>{0})
                 .getResult()[0];
    else
      init = filled(emptyRows(layer.getNumExperts()), 0.0);
    return linalg::MatmulOp::create(builder, loc, ValueRange{layer.getTokens(), transposed},
                                    ValueRange{init})
        .getResult(0);
  }

  /// The routed experts' combined output `[T, H]`.
  Value routedExperts(Value logits, int64_t blockSize) {
    RoutingAttr routing = layer.getRouting();
    int64_t k = routing.getK();
    int64_t numExperts = layer.getNumExperts();
    // moe.route computes the weights; where they apply is this function's business.
    bool weighInputs = routing.getWeighInputs();
    auto route = RouteOp::create(
        builder, loc, rowsType(k, elementType), rowsType(k, builder.getI32Type()), logits,
        /*router_weight=*/nullptr, /*router_bias=*/nullptr, layer.getScoreBias(),
        RoutingAttr::get(builder.getContext(), routing.getScoring(), k, routing.getRenormalize(),
                         routing.getTopkFirst(), routing.getNGroup(), routing.getTopkGroup(),
                         routing.getRoutedScalingFactor(), routing.getCapacityFactor(),
                         routing.getRenormalizeEpsilon(), routing.getJitterEps(),
                         routing.getZeroMaskedGroups(), /*weigh_inputs=*/false));
    int64_t slots = ShapedType::isDynamic(staticTokens)
                        ? ShapedType::kDynamic
                        : staticTokens * k + numExperts * (blockSize - 1);
    auto permute = PermuteOp::create(
        builder, loc, RankedTensorType::get({slots}, builder.getI32Type()),
        RankedTensorType::get({numExperts + 1}, builder.getI32Type()), route.getExpertIds(),
        builder.getI64IntegerAttr(numExperts), builder.getI64IntegerAttr(blockSize));
    // With weigh_inputs, every (token, slot) pair reads a row of its own, the weighed token,
    // and the combine adds the experts' outputs with weights of one.
    Value input = weighInputs ? weighedTokens(route.getWeights(), k) : layer.getTokens();
    Value combineWeights =
        weighInputs ? filled(emptyRows(k), 1.0) : Value(route.getWeights());
    Value expertOut = expertMLP(input, layer.getUpWeight(), layer.getDownWeight(),
                                layer.getUpBias(), layer.getDownBias(),
                                permute.getExpertOffsets(), permute.getSortedIds(),
                                weighInputs ? 1 : k);
    return UnpermuteOp::create(builder, loc, rowsType(hidden()), expertOut,
                               permute.getSortedIds(), combineWeights);
  }

  /// The shared expert's output `[T, H]`, before its gate: the routed experts' kernels
  /// with one expert that every token takes.
  Value sharedExpert() {
    Value i32Zero = arith::ConstantIntOp::create(builder, loc, builder.getI32Type(), 0);
    Value i32Tokens =
        arith::IndexCastOp::create(builder, loc, builder.getI32Type(), numTokens);
    Value offsets = tensor::FromElementsOp::create(
        builder, loc, RankedTensorType::get({2}, builder.getI32Type()),
        ValueRange{i32Zero, i32Tokens});
    return expertMLP(layer.getTokens(), asOneExpert(layer.getSharedUp()),
                     asOneExpert(layer.getSharedDown()),
                     /*upBias=*/nullptr, /*downBias=*/nullptr, offsets,
                     /*sortedIds=*/nullptr, /*rowsPerToken=*/1);
  }

  /// `routed + shared`, the shared part scaled by `sigmoid(tokens @ shared_gate)` if the
  /// layer has a gate.
  Value addShared(Value routed, Value shared) {
    SmallVector<Value> inputs = {routed, shared};
    MLIRContext *context = builder.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(2, context);
    SmallVector<AffineMap> maps = {identity, identity};
    if (Value gateWeight = layer.getSharedGate()) {
      Value gateLogits = linalg::MatmulOp::create(builder, loc,
                                                  ValueRange{layer.getTokens(), gateWeight},
                                                  ValueRange{filled(emptyRows(1), 0.0)})
                             .getResult(0);
      inputs.push_back(gateLogits);
      maps.push_back(AffineMap::get(2, 0, {getAffineDimExpr(0, context),
                                           getAffineConstantExpr(0, context)},
                                    context));
    }
    maps.push_back(identity);
    SmallVector<utils::IteratorType> iterators(2, utils::IteratorType::parallel);
    auto combine = linalg::GenericOp::create(
        builder, loc, TypeRange{rowsType(hidden())}, inputs, ValueRange{emptyRows(hidden())},
        maps, iterators, [&](OpBuilder &b, Location nested, ValueRange args) {
          Value sharedValue = args[1];
          if (inputs.size() == 3) {
            // sigmoid(g) * s, as s / (1 + exp(-g)).
            Value one = arith::ConstantOp::create(b, nested, b.getFloatAttr(elementType, 1.0));
            Value negated = arith::NegFOp::create(b, nested, args[2]);
            Value denominator = arith::AddFOp::create(
                b, nested, one, math::ExpOp::create(b, nested, negated));
            sharedValue = arith::DivFOp::create(b, nested, sharedValue, denominator);
          }
          Value sum = arith::AddFOp::create(b, nested, args[0], sharedValue);
          linalg::YieldOp::create(b, nested, sum);
        });
    return combine.getResult(0);
  }

private:
  int64_t hidden() { return layer.getTokens().getType().getDimSize(1); }

  /// `down(act(rows @ up + up_bias) + down_bias)` per expert segment, on the sorted layout,
  /// in the plain form: the rows of `input` gathered into a permuted copy (when `sortedIds`
  /// is given, row `sortedIds[p] / rowsPerToken` for slot `p`),
  /// the up projection, the activation and the down projection each an op of its own. The
  /// fusion passes (passes/optimize/fusion) fold the copy and the activation into the up
  /// projection.
  Value expertMLP(Value input, Value upWeight, Value downWeight, Value upBias, Value downBias,
                  Value offsets, Value sortedIds, int64_t rowsPerToken) {
    ExpertAttr expert = layer.getExpert();
    int64_t upColumns = cast<ShapedType>(upWeight.getType()).getDimSize(2);
    int64_t inner = expert.getGated() && !ShapedType::isDynamic(upColumns) ? upColumns / 2
                                                                            : upColumns;
    int64_t rows = sortedIds ? cast<ShapedType>(sortedIds.getType()).getDimSize(0)
                             : staticTokens;
    if (sortedIds)
      input = GatherRowsOp::create(builder, loc,
                                   RankedTensorType::get({rows, hidden()}, elementType), input,
                                   sortedIds, builder.getI64IntegerAttr(rowsPerToken));
    Value upRows = GroupedMatmulOp::create(
        builder, loc, RankedTensorType::get({rows, upColumns}, elementType), input, upWeight,
        offsets, /*sorted_ids=*/nullptr, upBias, /*scales=*/nullptr, /*zero_points=*/nullptr,
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, IntegerAttr(), ExpertAttr());
    Value hiddenRows = ExpertActivationOp::create(
        builder, loc, RankedTensorType::get({rows, inner}, elementType), upRows, expert);
    return GroupedMatmulOp::create(
        builder, loc, RankedTensorType::get({rows, hidden()}, elementType), hiddenRows, downWeight,
        offsets, /*sorted_ids=*/nullptr, downBias, /*scales=*/nullptr, /*zero_points=*/nullptr,
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, IntegerAttr(), ExpertAttr());
  }

  /// `[A, B]` viewed as the stacked weights `[1, A, B]` of a single expert.
  Value asOneExpert(Value matrix) {
    auto type = cast<RankedTensorType>(matrix.getType());
    auto expanded = RankedTensorType::get({1, type.getDimSize(0), type.getDimSize(1)},
                                          type.getElementType());
    return tensor::ExpandShapeOp::create(builder, loc, expanded, matrix,
                                         ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  }

  Value transpose(Value matrix) {
    auto type = cast<RankedTensorType>(matrix.getType());
    SmallVector<Value> dynamicSizes;
    for (int64_t dim : {1, 0})
      if (type.isDynamicDim(dim))
        dynamicSizes.push_back(tensor::DimOp::create(builder, loc, matrix, dim));
    Value init = tensor::EmptyOp::create(
        builder, loc, ArrayRef<int64_t>{type.getDimSize(1), type.getDimSize(0)},
        type.getElementType(), dynamicSizes);
    return linalg::TransposeOp::create(builder, loc, matrix, init, ArrayRef<int64_t>{1, 0})
        .getResult()[0];
  }

  RankedTensorType rowsType(int64_t columns, Type type = nullptr) {
    return RankedTensorType::get({staticTokens, columns}, type ? type : elementType);
  }

  /// An uninitialized `[T, columns]` tensor of the layer's element type.
  Value emptyRows(int64_t columns) {
    SmallVector<Value> dynamicSizes;
    if (ShapedType::isDynamic(staticTokens))
      dynamicSizes.push_back(numTokens);
    return tensor::EmptyOp::create(builder, loc, rowsType(columns).getShape(), elementType,
                                   dynamicSizes);
  }

  /// `init` filled with `value`.
  Value filled(Value init, double value) {
    Value constant =
        arith::ConstantOp::create(builder, loc, builder.getFloatAttr(elementType, value));
    return linalg::FillOp::create(builder, loc, ValueRange{constant}, ValueRange{init})
        .getResult(0);
  }

  /// The rows `[T * k, H]` the routed experts read when the weights scale their inputs
  /// (weigh_inputs): row `t * k + j` is token `t` times its weight `weights[t, j]`.
  Value weighedTokens(Value weights, int64_t k) {
    SmallVector<Value> dynamicSizes;
    if (ShapedType::isDynamic(staticTokens))
      dynamicSizes.push_back(numTokens);
    Value init = tensor::EmptyOp::create(builder, loc, {staticTokens, k, hidden()}, elementType,
                                         dynamicSizes);
    MLIRContext *context = builder.getContext();
    AffineExpr t = getAffineDimExpr(0, context), j = getAffineDimExpr(1, context),
               h = getAffineDimExpr(2, context);
    SmallVector<AffineMap> maps = {AffineMap::get(3, 0, {t, h}, context),
                                   AffineMap::get(3, 0, {t, j}, context),
                                   AffineMap::getMultiDimIdentityMap(3, context)};
    SmallVector<utils::IteratorType> iterators(3, utils::IteratorType::parallel);
    auto weighed = linalg::GenericOp::create(
        builder, loc, TypeRange{init.getType()}, ValueRange{layer.getTokens(), weights},
        ValueRange{init}, maps, iterators, [](OpBuilder &b, Location nested, ValueRange args) {
          linalg::YieldOp::create(b, nested,
                                  Value(arith::MulFOp::create(b, nested, args[0], args[1])));
        });
    return tensor::CollapseShapeOp::create(builder, loc, weighed.getResult(0),
                                           ArrayRef<ReassociationIndices>{{0, 1}, {2}});
  }

  OpBuilder &builder;
  Location loc;
  LayerOp layer;
  Type elementType;
  int64_t staticTokens;
  Value numTokens;
};

struct DecomposeLayer : OpRewritePattern<LayerOp> {
  DecomposeLayer(MLIRContext *context, int64_t blockSize)
      : OpRewritePattern(context), blockSize(blockSize) {}

  LogicalResult matchAndRewrite(LayerOp layer, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(layer))
      return rewriter.notifyMatchFailure(layer, *reason);
    LayerBuilder build(rewriter, layer);
    Value result = build.routedExperts(build.routerLogits(), blockSize);
    if (layer.getSharedUp())
      result = build.addShared(result, build.sharedExpert());
    rewriter.replaceOp(layer, result);
    return success();
  }

  int64_t blockSize;
};

struct DecomposeMoELayers : moec::impl::DecomposeMoELayersBase<DecomposeMoELayers> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize < 1) {
      getOperation()->emitError()
          << "moec-decompose-moe-layers: block-size must be positive, not "
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    bool unsupported = false;
    getOperation()->walk([&](LayerOp layer) {
      if (std::optional<std::string> reason = unsupportedReason(layer)) {
        layer.emitError() << *reason;
        unsupported = true;
      }
    });
    if (unsupported)
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    patterns.add<DecomposeLayer>(&getContext(), blockSize);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
