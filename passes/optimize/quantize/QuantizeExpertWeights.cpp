//===- QuantizeExpertWeights.cpp - moe.layer expert weights to int8/int4 --===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/Dialect/ONNX/ConstantValues.h"
#include "moec/Dialect/ONNX/ONNX.h"
#include "moec/Passes/Optimize/Quantize/Passes.h"
#include "QuantizationConfig.h"
#include "QuantizationProbe.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"

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

/// One weight operand of a layer, quantized (not yet in the IR).
struct QuantizedOperand {
  NamedConstant constant;
  moec::onnx::ElementsBytes bytes;
  unsigned bits;
  int64_t groupRows;
  QuantizedWeights weights;

  ArrayRef<int64_t> getShape() const { return bytes.type.getShape(); }
  /// The weights as they are, or as quantized, for the probe.
  moec::ProbeWeights probe(bool quantized) const {
    ArrayRef<int64_t> shape = getShape();
    moec::ProbeWeights result{shape[0], shape[1], shape[2]};
    result.values = reinterpret_cast<const float *>(bytes.bytes.data());
    result.splat = bytes.splat;
    if (quantized) {
      result.quantized = weights.values.data();
      result.scales = weights.scales.data();
      result.groupRows = groupRows;
    }
    return result;
  }
  /// Bytes in memory before and after: f32; the integers (int4 packed two per byte, as the
  /// host holds them) and the f32 scales.
  std::pair<int64_t, int64_t> getBytes() const {
    ArrayRef<int64_t> shape = getShape();
    int64_t rows = bits == 8 ? shape[1] : (shape[1] + 1) / 2;
    return {shape[0] * shape[1] * shape[2] * int64_t(sizeof(float)),
            shape[0] * rows * shape[2] + int64_t(weights.scales.size() * sizeof(float))};
  }
};

/// Tokens of the probe that measures each layer's error for the report.
constexpr int64_t kProbeTokens = 8;

/// The name a quantization config knows `layer` by: its ONNX node's, else "".
StringRef getLayerName(LayerOp layer) {
  auto name = dyn_cast<NameLoc>(layer.getLoc());
  return name ? name.getName().getValue() : StringRef();
}

struct QuantizeLayerWeights : OpRewritePattern<LayerOp> {
  QuantizeLayerWeights(MLIRContext *context, moec::QuantizationConfig &config,
                       std::vector<std::string> *report)
      : OpRewritePattern(context), config(config), report(report) {}

  LogicalResult matchAndRewrite(LayerOp op, PatternRewriter &rewriter) const override {
    StringRef name = getLayerName(op);
    std::optional<QuantizedOperand> up =
        quantizeOperand(op.getUpWeight(), config.get(name, moec::ExpertWeight::Up));
    std::optional<QuantizedOperand> down =
        quantizeOperand(op.getDownWeight(), config.get(name, moec::ExpertWeight::Down));
    if (!up && !down)
      return failure();
    if (report)
      report->push_back(describe(op, up, down));
    for (auto [operand, quantized] :
         {std::pair(&op.getUpWeightMutable(), &up), std::pair(&op.getDownWeightMutable(), &down)})
      if (*quantized) {
        Value weights = createDequantized(rewriter, operand->get(), **quantized);
        OpOperand *replaced = operand;
        rewriter.modifyOpInPlace(op, [&] { replaced->set(weights); });
      }
    return success();
  }

private:
  /// The constant f32 `weights` quantized, if they are constants that groups fit.
  std::optional<QuantizedOperand> quantizeOperand(Value weights,
                                                  moec::WeightScheme scheme) const {
    std::optional<NamedConstant> constant = getNamedConstant(weights);
    if (!scheme.bits || !constant || !constant->elements.getElementType().isF32())
      return std::nullopt;
    std::optional<moec::onnx::ElementsBytes> bytes =
        moec::onnx::getElementsBytes(constant->elements);
    if (!bytes)
      return std::nullopt;
    ArrayRef<int64_t> shape = bytes->type.getShape();
    std::optional<int64_t> group = getGroupRows(shape[1], scheme.groupSize);
    if (!group)
      return std::nullopt;
    QuantizedWeights quantized =
        quantize(reinterpret_cast<const float *>(bytes->bytes.data()), bytes->splat, shape[0],
                 shape[1], shape[2], *group, scheme.bits);
    return QuantizedOperand{*constant, *bytes, scheme.bits, *group, std::move(quantized)};
  }

  /// The integer and scale constants of `quantized` behind a moe.dequantize that stands
  /// for `weights`.
  Value createDequantized(PatternRewriter &rewriter, Value weights,
                          const QuantizedOperand &quantized) const {
    Location loc = weights.getLoc();
    const NamedConstant &constant = quantized.constant;
    ArrayRef<int64_t> shape = quantized.getShape();
    auto valuesType = RankedTensorType::get(shape, rewriter.getIntegerType(quantized.bits));
    Value values = createConstant(
        rewriter, loc, constant.elements, valuesType,
        ArrayRef<char>(reinterpret_cast<const char *>(quantized.weights.values.data()),
                       quantized.weights.values.size()),
        constant.name + (quantized.bits == 8 ? ".int8" : ".int4"));
    auto scalesType = RankedTensorType::get(
        {shape[0], shape[1] / quantized.groupRows, shape[2]}, rewriter.getF32Type());
    Value scales = createConstant(
        rewriter, loc, constant.elements, scalesType,
        ArrayRef<char>(reinterpret_cast<const char *>(quantized.weights.scales.data()),
                       quantized.weights.scales.size() * sizeof(float)),
        constant.name + ".scales");
    return DequantizeOp::create(rewriter, loc, weights.getType(), values, scales);
  }

  /// The report's line for `op`: bytes before and after per weight, and the probe's error
  /// (measured when both weights are constants).
  std::string describe(LayerOp op, const std::optional<QuantizedOperand> &up,
                       const std::optional<QuantizedOperand> &down) const {
    std::string line;
    llvm::raw_string_ostream os(line);
    // Layers are named after their ONNX node where they have one.
    if (StringRef name = getLayerName(op); !name.empty())
      os << "moe.layer '" << name << "':";
    else
      os << "moe.layer at " << op.getLoc() << ":";
    llvm::ListSeparator separator(",");
    for (auto [name, quantized] : {std::pair("up_weight", &up), std::pair("down_weight", &down)}) {
      os << separator << " " << name;
      if (!*quantized) {
        os << " not quantized";
        continue;
      }
      auto [before, after] = (*quantized)->getBytes();
      os << " int" << (*quantized)->bits << " " << before << " -> " << after
         << " bytes (groups of " << (*quantized)->groupRows << " rows)";
    }
    auto probe = [&](const std::optional<QuantizedOperand> &quantized, Value weights,
                     bool quantize) -> std::optional<moec::ProbeWeights> {
      if (quantized)
        return quantized->probe(quantize);
      std::optional<NamedConstant> constant = getNamedConstant(weights);
      std::optional<moec::onnx::ElementsBytes> bytes =
          constant ? moec::onnx::getElementsBytes(constant->elements) : std::nullopt;
      if (!bytes || !constant->elements.getElementType().isF32())
        return std::nullopt;
      ArrayRef<int64_t> shape = bytes->type.getShape();
      moec::ProbeWeights result{shape[0], shape[1], shape[2]};
      result.values = reinterpret_cast<const float *>(bytes->bytes.data());
      result.splat = bytes->splat;
      return result;
    };
    std::optional<moec::ProbeWeights> upF32 = probe(up, op.getUpWeight(), false),
                                      downF32 = probe(down, op.getDownWeight(), false),
                                      upQuantized = probe(up, op.getUpWeight(), true),
                                      downQuantized = probe(down, op.getDownWeight(), true);
    if (!upF32 || !downF32) {
      os << "; error not measured (weights that are not constants)";
      return line;
    }
    double error = moec::probeExpertsError(op.getExpert(), *upF32, *downF32, *upQuantized,
                                           *downQuantized, kProbeTokens);
    os << "; relative L2 error of the experts' output on " << kProbeTokens
       << " random tokens: " << llvm::format("%.4f", error);
    return line;
  }

  moec::QuantizationConfig &config;
  std::vector<std::string> *report;
};

struct QuantizeExpertWeights
    : moec::impl::QuantizeExpertWeightsBase<QuantizeExpertWeights> {
  using Base::Base;

  LogicalResult initialize(MLIRContext *context) override {
    auto fail = [&]() { return emitError(UnknownLoc::get(context)); };
    if (bits != 8 && bits != 4)
      return fail() << "moec-quantize-expert-weights: bits must be 8 or 4, not " << bits;
    if (groupSize <= 0)
      return fail() << "moec-quantize-expert-weights: group-size must be positive, not "
                    << groupSize;
    moec::WeightScheme defaults{bits, groupSize};
    parsedConfig.emplace(defaults);
    if (configPath.empty())
      return success();
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
        llvm::MemoryBuffer::getFile(configPath);
    if (!file)
      return fail() << configPath << ": cannot read the quantization config: "
                    << file.getError().message();
    llvm::Expected<moec::QuantizationConfig> parsed =
        moec::QuantizationConfig::parse((*file)->getBuffer(), configPath, defaults);
    if (!parsed)
      return fail() << toString(parsed.takeError());
    parsedConfig.emplace(std::move(*parsed));
    return success();
  }

  void runOnOperation() override {
    moec::QuantizationConfig config = *parsedConfig;
    RewritePatternSet patterns(&getContext());
    std::vector<std::string> lines;
    patterns.add<QuantizeLayerWeights>(&getContext(), config, report ? &lines : nullptr);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Constant weights still in f32 that were to be quantized are those the group size
    // does not fit.
    getOperation()->walk([&](LayerOp layer) {
      for (auto [weights, which] : {std::pair(layer.getUpWeight(), moec::ExpertWeight::Up),
                                    std::pair(layer.getDownWeight(), moec::ExpertWeight::Down)}) {
        moec::WeightScheme scheme = config.get(getLayerName(layer), which);
        if (std::optional<NamedConstant> constant = getNamedConstant(weights);
            scheme.bits && constant && constant->elements.getElementType().isF32())
          layer.emitWarning() << "expert weights '" << constant->name << "' stay f32: their "
                              << cast<ShapedType>(weights.getType()).getDimSize(1)
                              << " rows are not a whole number of groups of "
                              << scheme.groupSize;
      }
    });
    for (const std::string &name : config.getUnusedLayers())
      emitWarning(getOperation()->getLoc())
          << configPath << ": no MoE layer is named '" << name << "'";
    for (const std::string &line : lines)
      llvm::errs() << line << "\n";
  }

private:
  std::optional<moec::QuantizationConfig> parsedConfig;
};
} // namespace
