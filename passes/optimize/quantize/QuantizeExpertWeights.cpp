//===- QuantizeExpertWeights.cpp - moe.layer expert weights to int8/int4 --===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ConstantValues.h"
#include "moec/Dialect/ONNX/ONNX.h"
#include "moec/Passes/Optimize/Quantize/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace moec {
#define GEN_PASS_DEF_QUANTIZEEXPERTWEIGHTS
#include "passes/optimize/quantize/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

namespace {
/// A constant operand: its elements and the name its new constants are named after.
struct NamedConstant {
  ElementsAttr elements;
  std::string name;
};

std::optional<NamedConstant> getNamedConstant(Value value) {
  if (auto constant = value.getDefiningOp<moec::onnx::ConstantOp>())
    return NamedConstant{constant.getValue(), constant.getName().str()};
  ElementsAttr elements;
  if (!matchPattern(value, m_Constant(&elements)))
    return std::nullopt;
  std::string name = "expert_weights";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements))
    name = resource.getRawHandle().getKey().str();
  return NamedConstant{elements, name};
}

/// Group-wise symmetric quantization of `[E, K, N]` f32 weights, as the pass describes it.
struct QuantizedWeights {
  std::vector<int8_t> values;  // [E, K, N], one per byte (i4 values too)
  std::vector<float> scales;   // [E, K / groupSize, N]
};

QuantizedWeights quantize(const float *weights, bool splat, int64_t experts, int64_t rows,
                          int64_t columns, int64_t groupSize, unsigned bits) {
  const float qmax = float((1 << (bits - 1)) - 1);
  int64_t groups = rows / groupSize;
  QuantizedWeights result;
  result.values.resize(experts * rows * columns);
  result.scales.resize(experts * groups * columns);
  auto at = [&](int64_t index) { return weights[splat ? 0 : index]; };
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t n = 0; n < columns; ++n) {
        int64_t first = (e * rows + g * groupSize) * columns + n;
        float amax = 0.0f;
        for (int64_t k = 0; k < groupSize; ++k)
          amax = std::max(amax, std::fabs(at(first + k * columns)));
        float scale = amax / qmax;
        result.scales[(e * groups + g) * columns + n] = scale;
        for (int64_t k = 0; k < groupSize; ++k) {
          float q = scale > 0.0f ? std::nearbyint(at(first + k * columns) / scale) : 0.0f;
          result.values[first + k * columns] = int8_t(std::clamp(q, -qmax - 1.0f, qmax));
        }
      }
  return result;
}

/// The rows of K per scale for weights of `rows` rows: `groupSize`, or all rows when
/// there are fewer; nothing when `groupSize` does not divide them.
std::optional<int64_t> getGroupRows(int64_t rows, int64_t groupSize) {
  int64_t group = std::min(groupSize, rows);
  if (group <= 0 || rows % group != 0)
    return std::nullopt;
  return group;
}

/// A constant of `type` over `bytes`: a dense resource named `name` when `like` is one (the
/// weights of an imported model), else dense elements.
Value createConstant(PatternRewriter &rewriter, Location loc, ElementsAttr like,
                     RankedTensorType type, ArrayRef<char> bytes, StringRef name) {
  TypedAttr value;
  if (isa<DenseResourceElementsAttr>(like)) {
    AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        bytes, alignof(uint64_t));
    value = DenseResourceElementsAttr::get(type, name, std::move(blob));
  } else {
    value = DenseElementsAttr::getFromRawBuffer(type, bytes);
  }
  return arith::ConstantOp::create(rewriter, loc, value);
}

struct QuantizeLayerWeights : OpRewritePattern<LayerOp> {
  QuantizeLayerWeights(MLIRContext *context, unsigned bits, int64_t groupSize)
      : OpRewritePattern(context), bits(bits), groupSize(groupSize) {}

  LogicalResult matchAndRewrite(LayerOp op, PatternRewriter &rewriter) const override {
    bool changed = false;
    for (OpOperand *operand : {&op.getUpWeightMutable(), &op.getDownWeightMutable()}) {
      Value quantized = quantizeWeights(rewriter, op, operand->get());
      if (!quantized)
        continue;
      rewriter.modifyOpInPlace(op, [&] { operand->set(quantized); });
      changed = true;
    }
    return success(changed);
  }

private:
  /// The dequantized replacement of the constant f32 `weights`, or null.
  Value quantizeWeights(PatternRewriter &rewriter, LayerOp op, Value weights) const {
    std::optional<NamedConstant> constant = getNamedConstant(weights);
    if (!constant || !constant->elements.getElementType().isF32())
      return Value();
    std::optional<moec::onnx::ElementsBytes> bytes = moec::onnx::getElementsBytes(constant->elements);
    if (!bytes)
      return Value();
    ArrayRef<int64_t> shape = bytes->type.getShape();
    int64_t rows = shape[1];
    std::optional<int64_t> group = getGroupRows(rows, groupSize);
    if (!group)
      return Value();
    QuantizedWeights quantized =
        quantize(reinterpret_cast<const float *>(bytes->bytes.data()), bytes->splat, shape[0],
                 rows, shape[2], *group, bits);

    Location loc = weights.getLoc();
    std::string suffix = bits == 8 ? ".int8" : ".int4";
    auto valuesType = RankedTensorType::get(shape, rewriter.getIntegerType(bits));
    Value values = createConstant(
        rewriter, loc, constant->elements, valuesType,
        ArrayRef<char>(reinterpret_cast<const char *>(quantized.values.data()),
                       quantized.values.size()),
        constant->name + suffix);
    auto scalesType =
        RankedTensorType::get({shape[0], rows / *group, shape[2]}, rewriter.getF32Type());
    Value scales = createConstant(
        rewriter, loc, constant->elements, scalesType,
        ArrayRef<char>(reinterpret_cast<const char *>(quantized.scales.data()),
                       quantized.scales.size() * sizeof(float)),
        constant->name + ".scales");
    return DequantizeOp::create(rewriter, loc, weights.getType(), values, scales);
  }

  unsigned bits;
  int64_t groupSize;
};

struct QuantizeExpertWeights
    : moec::impl::QuantizeExpertWeightsBase<QuantizeExpertWeights> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *) override {
    if (bits != 8 && bits != 4)
      return emitError(UnknownLoc::get(&getContext()))
             << "moec-quantize-expert-weights: bits must be 8 or 4, not " << bits;
    if (groupSize <= 0)
      return emitError(UnknownLoc::get(&getContext()))
             << "moec-quantize-expert-weights: group-size must be positive, not " << groupSize;
    return success();
  }

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<QuantizeLayerWeights>(&getContext(), bits, groupSize);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Constant weights still in f32 are those the group size does not fit.
    getOperation()->walk([&](LayerOp layer) {
      for (Value weights : {layer.getUpWeight(), layer.getDownWeight()})
        if (std::optional<NamedConstant> constant = getNamedConstant(weights);
            constant && constant->elements.getElementType().isF32())
          layer.emitWarning() << "expert weights '" << constant->name << "' stay f32: their "
                              << cast<ShapedType>(weights.getType()).getDimSize(1)
                              << " rows are not a whole number of groups of " << int64_t(groupSize);
    });
  }
};
} // namespace
