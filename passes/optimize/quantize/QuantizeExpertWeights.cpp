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
#include "llvm/ADT/APFloat.h"
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

/// Group-wise quantization of `[E, K, N]` f32 weights, as the pass describes it.
struct QuantizedWeights {
  std::vector<int8_t> values;      // [E, K, N], one per byte (4-bit values too)
  std::vector<float> scales;       // [E, K / groupSize, N]
  std::vector<uint8_t> zeroPoints; // [E, K / groupSize, N] when asymmetric, else empty
};

QuantizedWeights quantize(const float *weights, bool splat, int64_t experts, int64_t rows,
                          int64_t columns, int64_t groupSize, moec::WeightScheme scheme) {
  // Symmetric: signed integers in [-qmax - 1, qmax]; asymmetric: unsigned in [0, levels].
  const float qmax = float((1 << (scheme.bits - 1)) - 1);
  const float levels = float((1 << scheme.bits) - 1);
  int64_t groups = rows / groupSize;
  QuantizedWeights result;
  result.values.resize(experts * rows * columns);
  result.scales.resize(experts * groups * columns);
  if (scheme.hasZeroPoints())
    result.zeroPoints.resize(experts * groups * columns);
  auto at = [&](int64_t index) { return weights[splat ? 0 : index]; };
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t n = 0; n < columns; ++n) {
        int64_t first = (e * rows + g * groupSize) * columns + n;
        int64_t group = (e * groups + g) * columns + n;
        // The range always holds 0, so that zero weights stay exactly zero.
        float low = 0.0f, high = 0.0f, amax = 0.0f;
        for (int64_t k = 0; k < groupSize; ++k) {
          float w = at(first + k * columns);
          low = std::min(low, w);
          high = std::max(high, w);
          amax = std::max(amax, std::fabs(w));
        }
        float scale = scheme.hasZeroPoints() ? (high - low) / levels : amax / qmax;
        result.scales[group] = scale;
        float zeroPoint = 0.0f;
        if (scheme.hasZeroPoints()) {
          zeroPoint = scale > 0.0f ? std::clamp(std::nearbyint(-low / scale), 0.0f, levels) : 0.0f;
          result.zeroPoints[group] = uint8_t(zeroPoint);
        }
        for (int64_t k = 0; k < groupSize; ++k) {
          float q = scale > 0.0f ? std::nearbyint(at(first + k * columns) / scale) : 0.0f;
          result.values[first + k * columns] =
              scheme.hasZeroPoints() ? int8_t(uint8_t(std::clamp(q + zeroPoint, 0.0f, levels)))
                                     : int8_t(std::clamp(q, -qmax - 1.0f, qmax));
        }
      }
  return result;
}

/// `value` as an e4m3fn byte, rounded to nearest even (as ml_dtypes' float8_e4m3fn).
uint8_t encodeE4M3(float value) {
  APFloat converted(value);
  bool losesInfo;
  converted.convert(APFloat::Float8E4M3FN(), APFloat::rmNearestTiesToEven, &losesInfo);
  return uint8_t(converted.bitcastToAPInt().getZExtValue());
}

/// Block-wise fp8 quantization of `[E, K, N]` f32 weights into e4m3 bytes (`values`) and a
/// scale per block of `blockRows` x `blockColumns` (`scales`, `[E, K / blockRows,
/// N / blockColumns]`), as the pass describes it.
QuantizedWeights quantizeFP8(const float *weights, bool splat, int64_t experts, int64_t rows,
                             int64_t columns, int64_t blockRows, int64_t blockColumns) {
  // The largest finite e4m3fn value.
  constexpr float kMaxE4M3 = 448.0f;
  int64_t rowBlocks = rows / blockRows, columnBlocks = columns / blockColumns;
  QuantizedWeights result;
  result.values.resize(experts * rows * columns);
  result.scales.resize(experts * rowBlocks * columnBlocks);
  auto at = [&](int64_t index) { return weights[splat ? 0 : index]; };
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t kb = 0; kb < rowBlocks; ++kb)
      for (int64_t nb = 0; nb < columnBlocks; ++nb) {
        auto forBlock = [&](auto function) {
          for (int64_t k = kb * blockRows; k < (kb + 1) * blockRows; ++k)
            for (int64_t n = nb * blockColumns; n < (nb + 1) * blockColumns; ++n)
              function((e * rows + k) * columns + n);
        };
        float amax = 0.0f;
        forBlock([&](int64_t index) { amax = std::max(amax, std::fabs(at(index))); });
        float scale = amax / kMaxE4M3;
        result.scales[(e * rowBlocks + kb) * columnBlocks + nb] = scale;
        forBlock([&](int64_t index) {
          result.values[index] = int8_t(encodeE4M3(scale > 0.0f ? at(index) / scale : 0.0f));
        });
      }
  return result;
}

/// The rows of K per scale for weights of `rows` rows: `groupSize`, or all rows when
/// there are fewer; nothing when `groupSize` does not divide them. (fp8's blocks of
/// columns, too.)
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
  moec::WeightScheme scheme;
  int64_t groupRows;
  // fp8: the columns of a block; else 1.
  int64_t groupColumns;
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
      result.zeroPoints = weights.zeroPoints.empty() ? nullptr : weights.zeroPoints.data();
      result.groupRows = groupRows;
      result.fp8 = scheme.fp8;
      result.groupColumns = groupColumns;
    }
    return result;
  }
  /// Bytes in memory before and after: f32; the integers (or fp8 bytes) and zero points
  /// (4-bit ones packed two per byte, as the host holds them) and the f32 scales.
  std::pair<int64_t, int64_t> getBytes() const {
    ArrayRef<int64_t> shape = getShape();
    auto packedRows = [&](int64_t rows) { return scheme.bits == 8 ? rows : (rows + 1) / 2; };
    int64_t groups = shape[1] / groupRows;
    int64_t zeroPointBytes = scheme.hasZeroPoints() ? shape[0] * packedRows(groups) * shape[2] : 0;
    return {shape[0] * shape[1] * shape[2] * int64_t(sizeof(float)),
            shape[0] * packedRows(shape[1]) * shape[2] +
                int64_t(weights.scales.size() * sizeof(float)) + zeroPointBytes};
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
    std::optional<int64_t> groupColumns =
        scheme.fp8 ? getGroupRows(shape[2], scheme.groupSize) : std::optional<int64_t>(1);
    if (!group || !groupColumns)
      return std::nullopt;
    auto *values = reinterpret_cast<const float *>(bytes->bytes.data());
    QuantizedWeights quantized =
        scheme.fp8
            ? quantizeFP8(values, bytes->splat, shape[0], shape[1], shape[2], *group, *groupColumns)
            : quantize(values, bytes->splat, shape[0], shape[1], shape[2], *group, scheme);
    return QuantizedOperand{*constant, *bytes, scheme, *group, *groupColumns, std::move(quantized)};
  }

  /// The integer, scale and zero point constants of `quantized` behind a moe.dequantize
  /// that stands for `weights`.
  Value createDequantized(PatternRewriter &rewriter, Value weights,
                          const QuantizedOperand &quantized) const {
    Location loc = weights.getLoc();
    const NamedConstant &constant = quantized.constant;
    const QuantizedWeights &values = quantized.weights;
    moec::WeightScheme scheme = quantized.scheme;
    ArrayRef<int64_t> shape = quantized.getShape();
    SmallVector<int64_t> groupShape{shape[0], shape[1] / quantized.groupRows,
                                    shape[2] / quantized.groupColumns};
    Type integerType = rewriter.getIntegerType(scheme.bits, /*isSigned=*/false);
    if (scheme.fp8)
      integerType = rewriter.getType<Float8E4M3FNType>();
    else if (!scheme.hasZeroPoints())
      integerType = rewriter.getIntegerType(scheme.bits);
    auto bytesOf = [](const auto &vector) {
      return ArrayRef<char>(reinterpret_cast<const char *>(vector.data()),
                            vector.size() * sizeof(vector[0]));
    };
    std::string typeName =
        scheme.fp8 ? ".fp8"
                   : (scheme.hasZeroPoints() ? ".uint" : ".int") + std::to_string(scheme.bits);
    Value integers =
        createConstant(rewriter, loc, constant.elements, RankedTensorType::get(shape, integerType),
                       bytesOf(values.values), constant.name + typeName);
    Value scales = createConstant(rewriter, loc, constant.elements,
                                  RankedTensorType::get(groupShape, rewriter.getF32Type()),
                                  bytesOf(values.scales), constant.name + ".scales");
    Value zeroPoints;
    if (scheme.hasZeroPoints())
      zeroPoints = createConstant(rewriter, loc, constant.elements,
                                  RankedTensorType::get(groupShape, integerType),
                                  bytesOf(values.zeroPoints), constant.name + ".zero_points");
    return DequantizeOp::create(rewriter, loc, weights.getType(), integers, scales, zeroPoints);
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
      moec::WeightScheme scheme = (*quantized)->scheme;
      if (scheme.fp8) {
        os << " fp8 e4m3 " << before << " -> " << after << " bytes (blocks of "
           << (*quantized)->groupRows << " x " << (*quantized)->groupColumns << ")";
        continue;
      }
      os << " int" << scheme.bits << (scheme.hasZeroPoints() ? " asymmetric " : " ") << before
         << " -> " << after << " bytes (groups of " << (*quantized)->groupRows << " rows)";
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
    if (schemeName != "symmetric" && schemeName != "asymmetric")
      return fail() << "moec-quantize-expert-weights: scheme must be symmetric or asymmetric, "
                       "not "
                    << schemeName;
    moec::WeightScheme defaults{fp8 ? 8u : bits, groupSize, schemeName == "asymmetric", fp8};
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
        std::optional<NamedConstant> constant = getNamedConstant(weights);
        if (!scheme.bits || !constant || !constant->elements.getElementType().isF32())
          continue;
        ArrayRef<int64_t> shape = cast<ShapedType>(weights.getType()).getShape();
        InFlightDiagnostic warning = layer.emitWarning()
                                     << "expert weights '" << constant->name << "' stay f32: ";
        if (scheme.fp8)
          warning << "their " << shape[1] << " x " << shape[2]
                  << " are not a whole number of blocks of " << scheme.groupSize << " x "
                  << scheme.groupSize;
        else
          warning << "their " << shape[1] << " rows are not a whole number of groups of "
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
