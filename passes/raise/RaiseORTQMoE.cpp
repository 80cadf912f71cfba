//===- RaiseORTQMoE.cpp - onnxruntime's com.microsoft.QMoE to moe.layer ---===//
//
// QMoE is onnxruntime's MoE contrib op with packed integer expert weights and scales.
// Raised, it is a `moe.layer` whose expert weights are `moe.dequantize`s of integer
// constants and scales: the representation `moec-quantize-expert-weights` makes, so that
// the grouped GEMM reads the weights quantized and dequantizes them inside, and only the k
// routed experts run. The codes are only rearranged (transposed into moe's `[E, K, N]`;
// with the default zero points, the zero point subtracted into signed integers; else kept
// unsigned beside their zero points, both as wide as the codes), never dequantized at
// compile time. What cannot be held that way is left to moec-expand-quantized-ops, with a
// remark that says why.
//
//===----------------------------------------------------------------------===//

#include "moec/Passes/Raise/Passes.h"

#include "ORTMoE.h"
#include "RaiseDriver.h"

#include "moec/Dialect/ONNX/QMoEInputs.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/Support/MathExtras.h"

namespace moec {
#define GEN_PASS_DEF_RAISEORTQMOE
#include "passes/raise/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::raise;
using namespace moec::raise::ort;

namespace {

using namespace moec::onnx::qmoe;

/// The inputs of one QMoE projection.
struct ProjectionInputs {
  StringRef name;
  unsigned weights, scales, bias, zeroPoints;
};
constexpr ProjectionInputs kFc1{"fc1", kFc1Weights, kFc1Scales, kFc1Bias, kFc1ZeroPoints};
constexpr ProjectionInputs kFc2{"fc2", kFc2Weights, kFc2Scales, kFc2Bias, kFc2ZeroPoints};
constexpr ProjectionInputs kFc3{"fc3", kFc3Weights, kFc3Scales, kFc3Bias, kFc3ZeroPoints};

/// Field `index` of `bits` bits in `bytes` from byte `base` on, lowest bits first (how
/// QMoE packs codes and zero points); a splat's every byte is its first.
unsigned readField(const ConstantBytes &bytes, int64_t base, int64_t index, unsigned bits) {
  int64_t bit = index * bits;
  auto byte = uint8_t(bytes.bytes[bytes.splat ? 0 : base + bit / 8]);
  return (byte >> (bit % 8)) & ((1u << bits) - 1);
}

/// One projection's packed weights: expert e's row n (an output feature) holds the codes of
/// its `inputs` inputs in `getRowBytes()` bytes; weight = (code - zero point) * scale, the zero
/// point one per row (`blockSize` 0) or per block of inputs, 2^(bits - 1) when not given.
struct PackedProjection {
  ConstantBytes codes;
  std::optional<ConstantBytes> zeroPoints;
  unsigned bits = 4;
  int64_t rows = 0, inputs = 0, blockSize = 0;

  int64_t getRowBytes() const { return llvm::divideCeilSigned(inputs * bits, 8); }
  int64_t getBlocks() const { return blockSize ? llvm::divideCeilSigned(inputs, blockSize) : 1; }

  /// The zero point of expert `expert`'s row `row`, block `block`. Per row they are packed
  /// along the rows (`[E, ceil(N · bits / 8)]`), per block along the blocks
  /// (`[E, N, ceil(blocks · bits / 8)]`).
  int zeroPoint(int64_t expert, int64_t row, int64_t block) const {
    if (!zeroPoints)
      return 1 << (bits - 1);
    if (!blockSize)
      return readField(*zeroPoints, expert * llvm::divideCeilSigned(rows * bits, 8), row, bits);
    int64_t blockBytes = llvm::divideCeilSigned(getBlocks() * bits, 8);
    return readField(*zeroPoints, (expert * rows + row) * blockBytes, block, bits);
  }

  /// Whether every zero point is 2^(bits - 1), so that code - zero point is a signed
  /// `bits`-bit integer.
  bool isSymmetric(int64_t experts) const {
    for (int64_t expert = 0; zeroPoints && expert < experts; ++expert)
      for (int64_t row = 0; row < rows; ++row)
        for (int64_t block = 0; block < getBlocks(); ++block)
          if (zeroPoint(expert, row, block) != 1 << (bits - 1))
            return false;
    return true;
  }

  /// Expert `expert`'s codes, `[rows, inputs]`, into `values`: less their zero point when
  /// `lessZeroPoint` (a signed integer then), else as they are.
  void unpack(int64_t expert, bool lessZeroPoint, MutableArrayRef<int8_t> values) const {
    for (int64_t row = 0; row < rows; ++row) {
      int64_t base = (expert * rows + row) * getRowBytes();
      for (int64_t input = 0; input < inputs; ++input) {
        int code = int(readField(codes, base, input, bits));
        values[row * inputs + input] =
            int8_t(lessZeroPoint ? code - zeroPoint(expert, row, blockSize ? input / blockSize : 0)
                                 : code);
      }
    }
  }

  /// Expert `expert`'s zero points, `[rows, blocks]`, into `values`.
  void unpackZeroPoints(int64_t expert, MutableArrayRef<int8_t> values) const {
    for (int64_t row = 0; row < rows; ++row)
      for (int64_t block = 0; block < getBlocks(); ++block)
        values[row * getBlocks() + block] = int8_t(zeroPoint(expert, row, block));
  }
};

/// Everything a moe.layer needs from one QMoE node, checked.
struct LayerPlan {
  moe::RoutingAttr routing;
  ExpertBody body;
  int64_t experts = 0, hidden = 0, inter = 0;
  /// fc1 (and fc3), and fc2: codes, and their scales as `[E, groups, N]` projections.
  SmallVector<PackedProjection> upSources;
  PackedProjection downSource;
  SmallVector<Projection> upScales;
  Projection downScales;
  /// The integer width moe holds the weights' values in: 4 for 2- and 4-bit codes, 8 for
  /// 8-bit ones.
  unsigned valueBits = 4;
  /// Whether a weight's codes have zero points other than 2^(bits - 1): then moe holds
  /// them unsigned, with their zero points; else signed, the zero point subtracted.
  bool upZeroPoints = false, downZeroPoints = false;
  Biases biases;
  SmallVector<ColumnRun> upColumns;
};

/// Reads and checks one QMoE node.
class NodeReader {
public:
  explicit NodeReader(onnx::NodeOp node) : node(node) {}

  /// The layer the node stands for, or failure with the reason in `why`.
  FailureOr<LayerPlan> plan(std::string &why);

private:
  Value input(unsigned index) { return node.getInputs()[index]; }
  /// The bytes of constant input `index` of element type `elementType` and shape `shape`.
  FailureOr<ConstantBytes> readConstant(unsigned index, const Twine &what, Type elementType,
                                        ArrayRef<int64_t> shape, std::string &why);
  /// The codes and zero points of `projection`, from `inputs` to `rows` features (weights
  /// `[E, rows, ...]`), into `packed`, and its scales, `[E, groups, rows]` in moe's view,
  /// into `scales`.
  LogicalResult readProjection(const ProjectionInputs &projection, int64_t inputs, int64_t rows,
                               PackedProjection &packed, Projection &scales, std::string &why);

  onnx::NodeOp node;
  int64_t experts = 0;
  unsigned bits = 4;
  int64_t blockSize = 0;
};

FailureOr<ConstantBytes> NodeReader::readConstant(unsigned index, const Twine &what,
                                                  Type elementType, ArrayRef<int64_t> shape,
                                                  std::string &why) {
  auto type = llvm::dyn_cast<RankedTensorType>(input(index).getType());
  std::optional<ConstantBytes> bytes = getConstantBytes(input(index));
  if (!type || !bytes) {
    why = (what + " is not a constant").str();
    return failure();
  }
  if (type.getElementType() != elementType) {
    llvm::raw_string_ostream(why) << what << " has element type " << type.getElementType()
                                  << ", not " << elementType;
    return failure();
  }
  if (type.getShape() != shape) {
    why = (what + " is " + describeShape(type.getShape()) + ", not " + describeShape(shape)).str();
    return failure();
  }
  return *bytes;
}

LogicalResult NodeReader::readProjection(const ProjectionInputs &projection, int64_t inputs,
                                         int64_t rows, PackedProjection &packed, Projection &scales,
                                         std::string &why) {
  Builder builder(node.getContext());
  Type byteType = builder.getIntegerType(8, /*isSigned=*/false);
  packed.bits = bits;
  packed.rows = rows;
  packed.inputs = inputs;
  packed.blockSize = blockSize;
  FailureOr<ConstantBytes> codes =
      readConstant(projection.weights, projection.name + " weights", byteType,
                   {experts, rows, packed.getRowBytes()}, why);
  if (failed(codes))
    return failure();
  packed.codes = *codes;
  // moe's groups are whole and equal: a last block shorter than the others is not one.
  int64_t blocks = packed.getBlocks();
  if (blocks > 1 && inputs % blockSize != 0) {
    why = (projection.name + "'s " + Twine(inputs) +
           " inputs are not a whole number of blocks of " + Twine(blockSize))
              .str();
    return failure();
  }
  SmallVector<int64_t> scaleShape{experts, rows};
  if (blockSize)
    scaleShape.push_back(blocks);
  FailureOr<ConstantBytes> scaleBytes = readConstant(projection.scales, projection.name + " scales",
                                                     builder.getF32Type(), scaleShape, why);
  if (failed(scaleBytes))
    return failure();
  scales.constant = input(projection.scales);
  scales.bytes = *scaleBytes;
  scales.in = blocks;
  scales.out = rows;
  scales.legacyLayout = false;
  if (node.hasInput(projection.zeroPoints)) {
    SmallVector<int64_t> zeroPointShape{experts, llvm::divideCeilSigned(rows * bits, 8)};
    if (blockSize)
      zeroPointShape = {experts, rows, llvm::divideCeilSigned(blocks * bits, 8)};
    FailureOr<ConstantBytes> zeroPoints = readConstant(
        projection.zeroPoints, projection.name + " zero points", byteType, zeroPointShape, why);
    if (failed(zeroPoints))
      return failure();
    packed.zeroPoints = *zeroPoints;
  }
  return success();
}

FailureOr<LayerPlan> NodeReader::plan(std::string &why) {
  for (unsigned index = kFirstUnsupported; index < node.getInputs().size(); ++index)
    if (node.hasInput(index)) {
      why = ("input " + Twine(index) + " (router weights, global or activation scales) is given")
                .str();
      return failure();
    }
  StringRef quantType = node.getStringAttr("quant_type", "int");
  if (quantType != "int") {
    why = ("quant_type '" + quantType + "' is not an integer format").str();
    return failure();
  }
  bits = node.getIntAttr("expert_weight_bits", 4);
  if (bits != 2 && bits != 4 && bits != 8) {
    why = ("expert_weight_bits = " + Twine(bits) + " is not 2, 4 or 8").str();
    return failure();
  }
  for (StringRef perProjection :
       {"fc1_expert_weight_bits", "fc2_expert_weight_bits", "fc3_expert_weight_bits"})
    if (node.getIntAttr(perProjection, bits) != bits) {
      why = (perProjection + " differs from expert_weight_bits").str();
      return failure();
    }
  for (StringRef unsupported :
       {"weights_prepacked", "use_sparse_mixer", "swiglu_limit_after_activation"})
    if (node.getIntAttr(unsupported, 0) != 0) {
      why = (unsupported + " is set").str();
      return failure();
    }
  blockSize = node.getIntAttr("block_size", 0);
  if (blockSize < 0 || (blockSize > 0 && (blockSize < 16 || !llvm::isPowerOf2_64(blockSize)))) {
    why = ("block_size = " + Twine(blockSize) + " is not 0 or a power of two from 16").str();
    return failure();
  }

  LayerPlan plan;
  auto inputType = llvm::dyn_cast<RankedTensorType>(input(kInput).getType());
  auto probsType = llvm::dyn_cast<RankedTensorType>(input(kRouterProbs).getType());
  // The host's quantized kernels compute in f32.
  if (!inputType || (inputType.getRank() != 2 && inputType.getRank() != 3) ||
      !inputType.getElementType().isF32() || ShapedType::isDynamic(inputType.getShape().back())) {
    why = "input must be a 2-D or 3-D f32 tensor of static hidden size";
    return failure();
  }
  plan.hidden = inputType.getShape().back();
  if (!probsType || probsType.getRank() != 2 || !probsType.getElementType().isF32()) {
    why = "router_probs must be a 2-D f32 tensor";
    return failure();
  }
  bool hasFc3 = node.hasInput(kFc3Weights);
  FailureOr<ExpertBody> body = readExpertBody(node, hasFc3, node.hasInput(kFc3Bias), why);
  if (failed(body))
    return failure();
  // onnxruntime's QMoE takes fc3 for SwiGLU only.
  if (hasFc3 && node.getStringAttr("activation_type", "relu") != "swiglu") {
    why = "fc3 is given with an activation other than swiglu";
    return failure();
  }
  plan.body = *body;

  auto fc1Type = llvm::dyn_cast<RankedTensorType>(input(kFc1Weights).getType());
  if (!fc1Type || fc1Type.getRank() != 3 || !fc1Type.hasStaticShape()) {
    why = "fc1 weights must be a static 3-D tensor";
    return failure();
  }
  experts = plan.experts = fc1Type.getDimSize(0);
  int64_t fc1Rows = fc1Type.getDimSize(1);
  if (body->fusedFc1 && fc1Rows % 2 != 0) {
    why = "fc1's " + std::to_string(fc1Rows) + " rows are not gate and up rows side by side";
    return failure();
  }
  plan.inter = body->fusedFc1 ? fc1Rows / 2 : fc1Rows;
  plan.upSources.resize(hasFc3 ? 2 : 1);
  plan.upScales.resize(plan.upSources.size());
  if (failed(
          readProjection(kFc1, plan.hidden, fc1Rows, plan.upSources[0], plan.upScales[0], why)) ||
      failed(
          readProjection(kFc2, plan.inter, plan.hidden, plan.downSource, plan.downScales, why)) ||
      (hasFc3 && failed(readProjection(kFc3, plan.hidden, plan.inter, plan.upSources[1],
                                       plan.upScales[1], why))))
    return failure();
  if (probsType.getDimSize(1) != experts) {
    why = ("router_probs scores " + Twine(probsType.getDimSize(1)) + " experts but there are " +
           Twine(experts))
              .str();
    return failure();
  }

  plan.valueBits = bits == 8 ? 8 : 4;
  auto hasZeroPoints = [&](ArrayRef<PackedProjection> sources) {
    return !llvm::all_of(
        sources, [&](const PackedProjection &source) { return source.isSymmetric(experts); });
  };
  plan.upZeroPoints = hasZeroPoints(plan.upSources);
  plan.downZeroPoints = hasZeroPoints(plan.downSource);

  // Biases, [E, out], as com.microsoft.MoE's.
  auto readBias = [&](unsigned index, StringRef what, int64_t out,
                      Projection &bias) -> LogicalResult {
    bias = Projection{};
    bias.out = out;
    if (!node.hasInput(index))
      return success();
    FailureOr<ConstantBytes> bytes =
        readConstant(index, what, inputType.getElementType(), {experts, out}, why);
    if (failed(bytes))
      return failure();
    bias.constant = input(index);
    bias.bytes = *bytes;
    return success();
  };
  Biases &biases = plan.biases;
  biases.up.resize(plan.upSources.size());
  if (failed(readBias(kFc1Bias, "fc1 bias", fc1Rows, biases.up[0])) ||
      failed(readBias(kFc2Bias, "fc2 bias", plan.hidden, biases.down)) ||
      (hasFc3 && failed(readBias(kFc3Bias, "fc3 bias", plan.inter, biases.up[1]))))
    return failure();
  biases.hasUp = node.hasInput(kFc1Bias) || node.hasInput(kFc3Bias);
  biases.hasDown = node.hasInput(kFc2Bias);

  plan.upColumns = getUpColumns(*body, hasFc3, plan.inter);
  FailureOr<moe::RoutingAttr> routing = readRouting(node, experts, why);
  if (failed(routing))
    return failure();
  plan.routing = *routing;
  return plan;
}

/// The `[E, K, N]` constant `name` of `type` made of `columns` of `sources`, each expert's
/// `[rows, K]` bytes of a source being what `unpack` writes into a buffer (a byte each),
/// gathered from it.
FailureOr<Value> createUnpackedStack(
    PatternRewriter &rewriter, Location loc, const Twine &name, RankedTensorType type,
    ArrayRef<PackedProjection> sources, ArrayRef<ColumnRun> columns,
    function_ref<void(const PackedProjection &, int64_t, MutableArrayRef<int8_t>)> unpack) {
  int64_t rowsK = type.getDimSize(1);
  std::vector<std::vector<int8_t>> buffers;
  for (const PackedProjection &source : sources)
    buffers.emplace_back(source.rows * rowsK);
  return createWeightStack(
      rewriter, loc, type, name.str(), type.getDimSize(0), rowsK, [&](int64_t expert) {
        SmallVector<Projection> unpacked;
        for (auto [source, buffer] : llvm::zip_equal(sources, buffers)) {
          unpack(source, expert, buffer);
          Projection projection;
          projection.bytes = {
              RankedTensorType::get({source.rows, rowsK}, rewriter.getIntegerType(8)),
              ArrayRef(reinterpret_cast<const char *>(buffer.data()), buffer.size())};
          projection.in = rowsK;
          projection.out = source.rows;
          projection.legacyLayout = false;
          unpacked.push_back(projection);
        }
        ExpertColumns parts;
        for (const ColumnRun &run : columns) {
          parts.push_back(unpacked[run.source].getColumns(0, run.first, run.step, run.count));
          // The buffer is reused for the next expert: its pages are not to be released.
          parts.back().expertBytes = {};
        }
        return parts;
      });
}

/// Raises one `com.microsoft.QMoE` node into `moe.layer` over `moe.dequantize`d weights.
struct RaiseORTQMoENode : RaisePattern {
  RaiseORTQMoENode(MLIRContext *context, RaiseRemarks &remarks, bool &sawError,
                   bool quantizedKernels)
      : RaisePattern(context, remarks, sawError), quantizedKernels(quantizedKernels) {}

  LogicalResult matchAndRewrite(onnx::NodeOp node, PatternRewriter &rewriter) const override {
    if (node.getOpType() != "QMoE" || node.getDomain() != "com.microsoft" ||
        node.getNumResults() != 1)
      return failure();
    auto notRaised = [&](const Twine &why) {
      remarks.notRaised(node,
                        ("not raised (its weights are dequantized at run time): " + why).str());
      return failure();
    };
    if (!quantizedKernels)
      return notRaised("the target's kernels take f32 expert weights");
    std::string whyNot;
    FailureOr<LayerPlan> plan = NodeReader(node).plan(whyNot);
    Value tokens = node.getInputs()[kInput];
    if (succeeded(plan))
      whyNot = checkLayerResult(node, tokens);
    if (!whyNot.empty())
      return notRaised(whyNot);

    Location loc = node.getLoc();
    StringRef nodeName = node.getName().empty() ? StringRef("ort_qmoe") : node.getName();
    auto f32Type = [&](ArrayRef<int64_t> shape) {
      return RankedTensorType::get(shape, rewriter.getF32Type());
    };
    // A weight that cannot be written is an error that fails the pass, so the constants
    // made before it need no cleaning up.
    auto weight = [&](FailureOr<Value> value) {
      sawError = sawError || failed(value);
      return succeeded(value) ? *value : Value();
    };
    // Expert weights [E, K, N]: their values, and scales and zero points [E, groups, N] in
    // the same columns.
    auto dequantized = [&](StringRef what, bool zeroPoints, ArrayRef<PackedProjection> sources,
                           ArrayRef<Projection> scales, ArrayRef<ColumnRun> columns) -> Value {
      Type integerType = rewriter.getIntegerType(plan->valueBits, /*isSigned=*/false);
      if (!zeroPoints)
        integerType = rewriter.getIntegerType(plan->valueBits);
      int64_t groups = sources.front().getBlocks(), width = getWidth(columns);
      auto valuesType =
          RankedTensorType::get({plan->experts, sources.front().inputs, width}, integerType);
      Value values = weight(createUnpackedStack(
          rewriter, loc, nodeName + "." + what, valuesType, sources, columns,
          [&](const PackedProjection &source, int64_t expert, MutableArrayRef<int8_t> buffer) {
            source.unpack(expert, /*lessZeroPoint=*/!zeroPoints, buffer);
          }));
      Value scaleValues =
          weight(createWeight(rewriter, loc, nodeName + "." + what + "_scales",
                              f32Type({plan->experts, groups, width}), scales, columns, groups));
      Value zeroPointValues;
      if (zeroPoints)
        zeroPointValues = weight(createUnpackedStack(
            rewriter, loc, nodeName + "." + what + "_zero_points",
            RankedTensorType::get({plan->experts, groups, width}, integerType), sources, columns,
            [&](const PackedProjection &source, int64_t expert, MutableArrayRef<int8_t> buffer) {
              source.unpackZeroPoints(expert, buffer);
            }));
      if (!values || !scaleValues || (zeroPoints && !zeroPointValues))
        return Value();
      return moe::DequantizeOp::create(rewriter, loc, f32Type(valuesType.getShape()), values,
                                       scaleValues, zeroPointValues);
    };
    SmallVector<ColumnRun> downColumns{{0, 0, 1, plan->hidden}};
    Value up = dequantized("up_weight", plan->upZeroPoints, plan->upSources, plan->upScales,
                           plan->upColumns);
    Value down = dequantized("down_weight", plan->downZeroPoints, plan->downSource,
                             plan->downScales, downColumns);
    Value upBias, downBias;
    sawError =
        sawError ||
        failed(plan->biases.create(rewriter, loc, nodeName, rewriter.getF32Type(), plan->experts,
                                   plan->hidden, plan->upColumns, upBias, downBias));
    if (sawError)
      return failure();
    replaceWithLayer(rewriter, node, tokens, node.getInputs()[kRouterProbs], up, down, upBias,
                     downBias, plan->routing, plan->body.expert);
    return success();
  }

private:
  bool quantizedKernels;
};

struct RaiseORTQMoE : moec::impl::RaiseORTQMoEBase<RaiseORTQMoE> {
  using Base::Base;

  void runOnOperation() override {
    RaiseRemarks remarks;
    bool sawError = false;
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseORTQMoENode>(&getContext(), remarks, sawError, quantizedKernels);
    if (failed(applyRaisePatterns(getOperation(), std::move(patterns), remarks)) || sawError)
      signalPassFailure();
  }
};

} // namespace
