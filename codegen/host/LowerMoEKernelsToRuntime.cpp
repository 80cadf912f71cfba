//===- LowerMoEKernelsToRuntime.cpp - Kernel-level moe ops to runtime calls ===//

#include "codegen/common/RuntimeDeclarations.h"
#include "moec-runtime/comm.h"
#include "moec-runtime/kernels.h"
#include "moec/Codegen/Host/Passes.h"
#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/StringSet.h"

#include <optional>

namespace moec {
#define GEN_PASS_DEF_LOWERMOEKERNELSTORUNTIME
#include "codegen/host/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

/// The runtime functions (include/moec-runtime/kernels.h) all start with this.
static constexpr StringLiteral kKernelPrefix = "moec_rt_moe_";

// moe.route passes #moe.routing's scoring to the kernel as its enum value.
static_assert(static_cast<int32_t>(Scoring::softmax) == MOEC_RT_SCORING_SOFTMAX &&
                  static_cast<int32_t>(Scoring::sigmoid) == MOEC_RT_SCORING_SIGMOID &&
                  static_cast<int32_t>(Scoring::sparse_mixer) == MOEC_RT_SCORING_SPARSE_MIXER &&
                  static_cast<int32_t>(Scoring::sqrt_softplus) == MOEC_RT_SCORING_SQRT_SOFTPLUS,
              "the moe dialect's Scoring and the runtime's MOEC_RT_SCORING_* must agree");

/// `values` before any `tensor.bitcast`s (how legalization gives unsigned ONNX constants
/// their type: a signless constant, bitcast).
static Value lookThroughBitcasts(Value values) {
  while (auto bitcast = values.getDefiningOp<tensor::BitcastOp>())
    values = bitcast.getSource();
  return values;
}

/// Whether the runtime takes `value` (quantized weights or zero points) as bytes: signless
/// 8-bit integers as they are, or constants of other 8-bit or of 4-bit types that
/// runtimeBytes rewrites.
static bool isRuntimeBytes(Value value) {
  Type element = getElementTypeOrSelf(value);
  if (element.isSignlessInteger(8))
    return true;
  unsigned width = element.getIntOrFloatBitWidth();
  return (width == 8 || width == 4) &&
         lookThroughBitcasts(value).getDefiningOp<arith::ConstantOp>() &&
         cast<RankedTensorType>(value.getType()).hasStaticShape();
}

/// Why the runtime cannot run `op` (a kernel-level moe op), if it cannot: its kernels take
/// f32 values and i32 ids only; a grouped matmul's weights may also be 8-bit integers, or
/// constant 4-bit ones (packed here), with f32 scales and zero points of the same type, or
/// constant fp8 (e4m3) ones with f32 block scales.
static std::optional<std::string> unsupportedReason(Operation *op) {
  SmallVector<Value, 2> quantized;
  if (auto matmul = dyn_cast<GroupedMatmulOp>(op); matmul && matmul.getScales()) {
    quantized.push_back(matmul.getWeights());
    if (Value zeroPoints = matmul.getZeroPoints())
      quantized.push_back(zeroPoints);
    if (!llvm::all_of(quantized, isRuntimeBytes))
      return "the host kernels take 8-bit integer, constant 4-bit integer or constant fp8 "
             "quantized weights and zero points only";
  }
  for (Value value : llvm::concat<Value>(op->getOperands(), op->getResults())) {
    if (llvm::is_contained(quantized, value))
      continue;
    Type element = getElementTypeOrSelf(value.getType());
    if (!element.isF32() && !element.isInteger(32)) {
      std::string reason;
      llvm::raw_string_ostream os(reason);
      os << "the host MoE kernels take f32 tensors only, not " << element;
      return reason;
    }
  }
  return std::nullopt;
}

namespace {
/// Emits one call to a runtime kernel: tensor operands are passed as pointers to read-only
/// buffers, results are fresh buffers the kernel fills, and every size is an i64.
class RuntimeCall {
public:
  RuntimeCall(PatternRewriter &rewriter, Location loc) : rewriter(rewriter), loc(loc) {}

  /// Passes a pointer to `tensor`'s data (identity layout, so no offset).
  RuntimeCall &input(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    Value buffer = bufferization::ToBufferOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
    args.push_back(pointerTo(buffer));
    return *this;
  }

  /// Passes `tensor`'s pointer, or null when there is none.
  RuntimeCall &optionalInput(Value tensor) {
    if (tensor)
      return input(tensor);
    args.push_back(
        LLVM::ZeroOp::create(rewriter, loc, LLVM::LLVMPointerType::get(rewriter.getContext())));
    return *this;
  }

  /// Allocates a result of `type` with `sizes` (index values, one per dimension) and
  /// passes its pointer.
  RuntimeCall &output(Type type, ArrayRef<Value> sizes) {
    auto tensorType = cast<RankedTensorType>(type);
    SmallVector<Value> dynamicSizes;
    for (auto [dim, size] : llvm::enumerate(sizes))
      if (tensorType.isDynamicDim(dim))
        dynamicSizes.push_back(size);
    auto memrefType = MemRefType::get(tensorType.getShape(), tensorType.getElementType());
    Value buffer = memref::AllocOp::create(rewriter, loc, memrefType, dynamicSizes);
    args.push_back(pointerTo(buffer));
    outputs.push_back(buffer);
    return *this;
  }

  RuntimeCall &size(Value index) {
    args.push_back(arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), index));
    return *this;
  }
  RuntimeCall &i64(int64_t value) {
    args.push_back(arith::ConstantIntOp::create(rewriter, loc, rewriter.getI64Type(), value));
    return *this;
  }
  RuntimeCall &i32(int64_t value) {
    args.push_back(arith::ConstantIntOp::create(rewriter, loc, rewriter.getI32Type(), value));
    return *this;
  }
  RuntimeCall &f32(double value) {
    args.push_back(
        arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(float(value))));
    return *this;
  }

  /// Emits the call to `kKernelPrefix + name` and replaces `op` by the buffers it filled.
  void replace(Operation *op, StringRef name) {
    func::CallOp::create(rewriter, loc, (kKernelPrefix + name).str(), TypeRange{}, args);
    SmallVector<Value> results;
    for (auto [buffer, type] : llvm::zip_equal(outputs, op->getResultTypes()))
      results.push_back(bufferization::ToTensorOp::create(rewriter, loc, type, buffer,
                                                          /*restrict=*/true,
                                                          /*writable=*/true));
    rewriter.replaceOp(op, results);
  }

  /// `tensor`'s dimension `dim`, as an index.
  Value dim(Value tensor, int64_t dim) {
    return rewriter.createOrFold<tensor::DimOp>(loc, tensor, dim);
  }

private:
  Value pointerTo(Value buffer) {
    Value address = memref::ExtractAlignedPointerAsIndexOp::create(rewriter, loc, buffer);
    Value addressI64 = arith::IndexCastOp::create(rewriter, loc, rewriter.getI64Type(), address);
    return LLVM::IntToPtrOp::create(rewriter, loc,
                                    LLVM::LLVMPointerType::get(rewriter.getContext()),
                                    addressI64);
  }

  PatternRewriter &rewriter;
  Location loc;
  SmallVector<Value> args;
  SmallVector<Value> outputs;
};

struct RouteToRuntime : OpRewritePattern<RouteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RouteOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    RoutingAttr routing = op.getRouting();
    if (!routing.isDropless())
      return rewriter.notifyMatchFailure(op, "capacity-limited routing");
    RuntimeCall call(rewriter, op.getLoc());
    Value input = op.getInput();
    Value tokens = call.dim(input, 0);
    Value k = arith::ConstantIndexOp::create(rewriter, op.getLoc(), routing.getK());
    // The input's columns are the experts of logits, or the hidden size of tokens, whose
    // logits the kernel computes itself from the router.
    Value router = op.getRouterWeight();
    call.size(tokens).size(call.dim(input, 1));
    if (router)
      call.size(call.dim(router, 0)).input(input).input(router).optionalInput(op.getRouterBias());
    else
      call.input(input);
    call.optionalInput(op.getScoreBias())
        .i64(routing.getK())
        .i32(static_cast<int32_t>(routing.getScoring()))
        .i32(routing.getRenormalize())
        .f32(routing.getRenormalizeEpsilon().convertToDouble())
        .i32(routing.getTopkFirst())
        .i64(routing.getNGroup())
        .i64(routing.getTopkGroup())
        .i32(routing.getZeroMaskedGroups())
        .f32(routing.getRoutedScalingFactor().convertToDouble())
        .f32(routing.getJitterEps().convertToDouble())
        .output(op.getWeights().getType(), {tokens, k})
        .output(op.getExpertIds().getType(), {tokens, k})
        .replace(op, router ? "route_tokens_f32" : "route_f32");
    return success();
  }
};

struct PermuteToRuntime : OpRewritePattern<PermuteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(PermuteOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    Location loc = op.getLoc();
    RuntimeCall call(rewriter, loc);
    Value tokens = call.dim(op.getExpertIds(), 0);
    Value k = call.dim(op.getExpertIds(), 1);
    // The worst case, T * k + E * (block_size - 1).
    Value padding = arith::ConstantIndexOp::create(
        rewriter, loc, op.getNumExperts() * (op.getBlockSize() - 1));
    Value slots = arith::AddIOp::create(rewriter, loc,
                                        arith::MulIOp::create(rewriter, loc, tokens, k), padding);
    Value offsets = arith::ConstantIndexOp::create(rewriter, loc, op.getNumExperts() + 1);
    call.size(tokens)
        .size(k)
        .input(op.getExpertIds())
        .i64(op.getNumExperts())
        .i64(op.getBlockSize())
        .size(slots)
        .output(op.getSortedIds().getType(), {slots})
        .output(op.getExpertOffsets().getType(), {offsets})
        .replace(op, "permute");
    return success();
  }
};

/// Quantized `values` (`[E, R, N]`: weights, or their zero points) as the runtime takes
/// them, i8 bytes: 8-bit integers as they are; constant 4-bit ones packed, `[E, (R + 1) / 2,
/// N]`, rows 2i and 2i + 1 of a column in the low and high nibble of byte [i][n]. A dense
/// resource stays one (named after the old; the packed bytes are a new one), so the weights
/// file holds what the runtime reads; null when the data is not at hand.
static Value runtimeBytes(PatternRewriter &rewriter, Location loc, Value values) {
  auto type = cast<RankedTensorType>(values.getType());
  if (type.getElementType().isSignlessInteger(8))
    return values;
  Value source = lookThroughBitcasts(values);
  if (getElementTypeOrSelf(source).isSignlessInteger(8))
    return source;
  auto constant = source.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return Value();
  auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  RankedTensorType bytesType = type.clone(rewriter.getI8Type());
  // Other 8-bit types (unsigned, fp8) are the same bytes.
  if (type.getElementTypeBitWidth() == 8) {
    TypedAttr bytes;
    if (resource)
      bytes = DenseResourceElementsAttr::get(bytesType, resource.getRawHandle());
    else if (dense)
      bytes = dense.bitcast(rewriter.getI8Type());
    return bytes ? arith::ConstantOp::create(rewriter, loc, bytes) : Value();
  }
  ArrayRef<int64_t> shape = type.getShape();
  ArrayRef<char> unpacked;
  bool splat = false;
  if (resource && resource.getRawHandle().getBlob()) {
    unpacked = resource.getRawHandle().getBlob()->getData();
  } else if (dense) {
    unpacked = dense.getRawData();
    splat = dense.isSplat();
  }
  if (unpacked.empty() || (!splat && int64_t(unpacked.size()) != type.getNumElements()))
    return Value();
  int64_t experts = shape[0], rows = shape[1], columns = shape[2], pairs = (rows + 1) / 2;
  std::vector<char> packed(experts * pairs * columns, 0);
  for (int64_t e = 0; e < experts; ++e)
    for (int64_t k = 0; k < rows; ++k)
      for (int64_t n = 0; n < columns; ++n) {
        uint8_t nibble = uint8_t(unpacked[splat ? 0 : (e * rows + k) * columns + n]) & 0xF;
        packed[(e * pairs + k / 2) * columns + n] |= char(k % 2 ? nibble << 4 : nibble);
      }
  auto packedType = RankedTensorType::get({experts, pairs, columns}, rewriter.getI8Type());
  TypedAttr value;
  if (resource)
    value = DenseResourceElementsAttr::get(
        packedType, (resource.getRawHandle().getKey() + ".packed").str(),
        HeapAsmResourceBlob::allocateAndCopyWithAlign(packed, alignof(uint64_t)));
  else
    value = DenseElementsAttr::getFromRawBuffer(packedType, packed);
  return arith::ConstantOp::create(rewriter, loc, value);
}

struct GroupedMatmulToRuntime : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    Location loc = op.getLoc();
    Value weights = op.getWeights();
    unsigned bits = getElementTypeOrSelf(weights).getIntOrFloatBitWidth();
    bool quantized = op.getScales() != nullptr;
    Value zeroPoints = op.getZeroPoints();
    if (quantized) {
      weights = runtimeBytes(rewriter, loc, weights);
      if (zeroPoints)
        zeroPoints = runtimeBytes(rewriter, loc, zeroPoints);
      if (!weights || (op.getZeroPoints() && !zeroPoints))
        return rewriter.notifyMatchFailure(op, "quantized weights whose data is not at hand");
    }
    RuntimeCall call(rewriter, loc);
    Value sortedIds = op.getSortedIds();
    Value rows = sortedIds ? call.dim(sortedIds, 0) : call.dim(op.getInput(), 0);
    Value columns = call.dim(op.getWeights(), 2);
    ExpertAttr expert = op.getExpertAttr();
    bool gated = expert && expert.getGated();
    Value resultColumns =
        gated ? arith::DivUIOp::create(rewriter, loc, columns,
                                       arith::ConstantIndexOp::create(rewriter, loc, 2))
              : columns;
    // Without an epilogue the activation is the identity (-1); alpha and limit are unused.
    int32_t activation = expert ? static_cast<int32_t>(expert.getActivation()) : -1;
    double alpha = expert ? expert.getAlpha().convertToDouble() : 0.0;
    double limit = expert ? expert.getLimit().convertToDouble() : 0.0;
    call.size(rows)
        .size(call.dim(op.getWeights(), 1))
        .size(columns)
        .size(call.dim(op.getWeights(), 0))
        .input(op.getInput())
        .size(call.dim(op.getInput(), 0))
        .optionalInput(sortedIds)
        .i64(op.getRowsPerToken().value_or(1))
        .input(op.getExpertOffsets())
        .input(weights);
    bool fp8 = isa<Float8E4M3FNType>(getElementTypeOrSelf(op.getWeights()));
    if (fp8)
      call.input(op.getScales())
          .size(call.dim(op.getScales(), 1))
          .size(call.dim(op.getScales(), 2));
    else if (quantized)
      call.i32(bits)
          .input(op.getScales())
          .size(call.dim(op.getScales(), 1))
          .optionalInput(zeroPoints);
    call.optionalInput(op.getBias()).i32(activation).i32(gated).f32(alpha).f32(limit);
    // With the combine epilogue the result has a row per token, not per slot.
    Value combineWeights = op.getCombineWeights();
    Value resultRows = rows;
    if (combineWeights) {
      resultRows = call.dim(combineWeights, 0);
      call.input(op.getCombineIds())
          .input(combineWeights)
          .size(resultRows)
          .size(call.dim(combineWeights, 1));
    } else {
      call.optionalInput(nullptr).optionalInput(nullptr).i64(0).i64(0);
    }
    call.output(op.getResult().getType(), {resultRows, resultColumns})
        .replace(op, fp8         ? "grouped_matmul_fp8_f32"
                     : quantized ? "grouped_matmul_quantized_f32"
                                 : "grouped_matmul_f32");
    return success();
  }
};

struct UnpermuteToRuntime : OpRewritePattern<UnpermuteOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(UnpermuteOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    RuntimeCall call(rewriter, op.getLoc());
    Value tokens = call.dim(op.getWeights(), 0);
    Value columns = call.dim(op.getExpertOut(), 1);
    call.size(tokens)
        .size(call.dim(op.getWeights(), 1))
        .size(columns)
        .size(call.dim(op.getSortedIds(), 0))
        .input(op.getExpertOut())
        .input(op.getSortedIds())
        .input(op.getWeights())
        .output(op.getResult().getType(), {tokens, columns})
        .replace(op, "unpermute_f32");
    return success();
  }
};

/// How the runtime's exchange reads expert weights of `element` type
/// (include/moec-runtime/comm.h).
static int32_t getWeightsFormat(Type element) {
  if (element.isF32())
    return MOEC_RT_WEIGHTS_F32;
  if (isa<Float8E4M3FNType>(element))
    return MOEC_RT_WEIGHTS_FP8;
  return element.getIntOrFloatBitWidth() == 4 ? MOEC_RT_WEIGHTS_INT4 : MOEC_RT_WEIGHTS_INT8;
}

/// The expert-parallel layer calls the runtime's MPI part (lib/runtime/comm), which the
/// program then links; the placement goes as two constant i32 arrays, and quantized stacks
/// as the bytes the grouped matmuls' kernels read (runtimeBytes).
struct ExpertParallelToRuntime : OpRewritePattern<ExpertParallelOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ExpertParallelOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto placement = [&](ArrayRef<int32_t> values) -> Value {
      auto type = RankedTensorType::get({int64_t(values.size())}, rewriter.getI32Type());
      return arith::ConstantOp::create(rewriter, loc, DenseIntElementsAttr::get(type, values));
    };
    struct Projection {
      Value weights, scales, zeroPoints, bias;
    };
    Projection up{op.getUpWeight(), op.getUpScales(), op.getUpZeroPoints(), op.getUpBias()};
    Projection down{op.getDownWeight(), op.getDownScales(), op.getDownZeroPoints(),
                    op.getDownBias()};
    for (Projection *projection : {&up, &down})
      for (Value *quantized : {&projection->weights, &projection->zeroPoints}) {
        if (!projection->scales || !*quantized)
          continue;
        if (!isRuntimeBytes(*quantized) || !(*quantized = runtimeBytes(rewriter, loc, *quantized)))
          return rewriter.notifyMatchFailure(op, "quantized weights whose data is not at hand");
      }
    RuntimeCall call(rewriter, loc);
    // A projection's arguments: weights, format, scales, groups of rows and fp8's blocks of
    // columns (0 where there are none), zero points, bias.
    auto addProjection = [&](const Projection &projection, Value original) {
      Type element = getElementTypeOrSelf(original);
      Value scales = projection.scales;
      call.input(projection.weights).i32(getWeightsFormat(element)).optionalInput(scales);
      scales ? call.size(call.dim(scales, 1)) : call.i64(0);
      isa<Float8E4M3FNType>(element) ? call.size(call.dim(scales, 2)) : call.i64(0);
      call.optionalInput(projection.zeroPoints).optionalInput(projection.bias);
    };
    ExpertAttr expert = op.getExpert();
    Value tokens = call.dim(op.getTokens(), 0);
    Value hidden = call.dim(op.getTokens(), 1);
    call.size(tokens)
        .size(hidden)
        .size(call.dim(op.getExpertIds(), 1))
        .input(op.getTokens())
        .input(op.getExpertIds())
        .input(op.getWeights())
        .i64(op.getExpertRanks().size())
        .input(placement(op.getExpertRanks()))
        .input(placement(op.getExpertSlots()))
        .size(call.dim(op.getUpWeight(), 0))
        .size(call.dim(op.getUpWeight(), 2))
        .size(call.dim(op.getDownWeight(), 1));
    addProjection(up, op.getUpWeight());
    addProjection(down, op.getDownWeight());
    call.i32(static_cast<int32_t>(expert.getActivation()))
        .i32(expert.getGated())
        .f32(expert.getAlpha().convertToDouble())
        .f32(expert.getLimit().convertToDouble())
        .output(op.getResult().getType(), {tokens, hidden})
        .replace(op, "expert_parallel_f32");
    return success();
  }
};

struct LowerMoEKernelsToRuntime
    : moec::impl::LowerMoEKernelsToRuntimeBase<LowerMoEKernelsToRuntime> {
  void runOnOperation() override {
    // Ops the kernels cannot take stay for moec-lower-moe-kernels-to-loops.
    ModuleOp module = getOperation();
    RewritePatternSet patterns(&getContext());
    patterns.add<RouteToRuntime, PermuteToRuntime, GroupedMatmulToRuntime, UnpermuteToRuntime,
                 ExpertParallelToRuntime>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();

    moec::declareCalledRuntimeFunctions(
        module, [](StringRef name) { return name.starts_with(kKernelPrefix); });
  }
};
} // namespace
