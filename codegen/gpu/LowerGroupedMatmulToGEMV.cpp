//===- LowerGroupedMatmulToGEMV.cpp - Decode-sized grouped matmuls as split-K ===//
//
// With a few rows per expert, a grouped matmul reads each busy expert's weights once and
// does little arithmetic on them: its speed is the speed of that read. The weights are
// cut into (K split, column group) pieces, a block each, so that enough blocks stream at
// once; every thread reads 16-byte vectors of one weight row and keeps f32 sums for the
// rows of its expert in registers, and a second nest adds the splits' partial sums and
// applies the epilogue. Both are loop nests on buffers (LoopKernels.h), so the host runs
// them too and CI checks their numerics against the runtime's kernel.
//
//===----------------------------------------------------------------------===//

#include "ExpertLoad.h"
#include "codegen/common/LoopKernels.h"
#include "kernels/GroupedMatmulKernels.h"
#include "moec/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace moec {
#define GEN_PASS_DEF_LOWERGROUPEDMATMULTOGEMV
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;
using namespace moec::loops;

namespace {
/// Bytes one thread loads from a weight row at a time: the widest global load.
constexpr int64_t kVectorBytes = 16;
/// Threads of a block in both nests (split-K blocks of narrow weights have fewer): a
/// split-K block reads up to 256 vectors of a weight row.
constexpr int64_t kThreads = 256;
constexpr int64_t kWarp = 32;
/// f32 accumulators a thread keeps per pass over its expert's rows (rows x vector width),
/// few enough for every thread to stay in registers without spilling.
constexpr int64_t kAccumulatorBudget = 64;
/// The shortest K chunk worth a split: each thread then issues at least this many loads.
constexpr int64_t kMinChunk = 32;

/// How one grouped matmul is cut, chosen from its static shape.
struct SplitKShape {
  /// Weight elements one thread loads at once (16 bytes).
  int64_t vectorWidth;
  /// Rows of a segment one pass of the K chunk accumulates.
  int64_t rowsPerPass;
  /// Splits of K, and the K rows of each (the last may have fewer).
  int64_t splits, chunk;
  /// Threads of a split-K block, a vector each, and the blocks along the weight columns.
  int64_t threads, columnBlocks;
};

SplitKShape chooseShape(int64_t K, int64_t N, int64_t elementBytes, int64_t rowsPerExpert,
                        int64_t busyExperts, int64_t blocksToFill, int64_t splitsOption) {
  SplitKShape shape;
  shape.vectorWidth = kVectorBytes / elementBytes;
  shape.rowsPerPass =
      std::clamp<int64_t>(rowsPerExpert, 1, kAccumulatorBudget / shape.vectorWidth);
  int64_t vectors = N / shape.vectorWidth;
  shape.threads = std::min<int64_t>(kThreads, llvm::alignTo(vectors, kWarp));
  shape.columnBlocks = llvm::divideCeil(vectors, shape.threads);
  int64_t splits = splitsOption;
  if (splits <= 0)
    splits = std::clamp<int64_t>(
        llvm::divideCeil(blocksToFill, std::max<int64_t>(busyExperts, 1) * shape.columnBlocks),
        1, std::max<int64_t>(K / kMinChunk, 1));
  shape.chunk = llvm::divideCeil(K, std::min(splits, K));
  shape.splits = llvm::divideCeil(K, shape.chunk);
  return shape;
}

struct GroupedMatmulToGEMV : OpRewritePattern<GroupedMatmulOp> {
  GroupedMatmulToGEMV(MLIRContext *context, const moec::LowerGroupedMatmulToGEMVOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    int64_t rowsPerExpert = options.expectedRowsPerExpert > 0
                                ? options.expectedRowsPerExpert
                                : moec::expectedRowsPerExpert(op);
    // Shapes that do not tell (a dynamic token count) leave the choice to run time; the
    // nests are then planned for the most rows per expert they take.
    bool chooseAtRunTime = options.chooseAtRunTime &&
                           rowsPerExpert == std::numeric_limits<int64_t>::max();
    if (chooseAtRunTime)
      rowsPerExpert = options.maxRowsPerExpert;
    if (rowsPerExpert > options.maxRowsPerExpert)
      return rewriter.notifyMatchFailure(op, "more rows per expert than a decode");
    if (op.getScales())
      return rewriter.notifyMatchFailure(op, "quantized weights");
    // The loop kernels split the combine off into its own kernel.
    if (op.getCombineWeights())
      return rewriter.notifyMatchFailure(op, "the grouped matmul combines its rows");
    auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
    Type weightType = weightsType.getElementType();
    if (!weightType.isF32() && !weightType.isF16() && !weightType.isBF16())
      return rewriter.notifyMatchFailure(op, "weights are not f32, f16 or bf16");
    for (Type type : llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
      Type element = getElementTypeOrSelf(type);
      if (!element.isF32() && !element.isF16() && !element.isBF16() && !element.isInteger(32))
        return rewriter.notifyMatchFailure(op, "values are not f32, f16 or bf16");
    }
    if (!weightsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "the split is chosen from static weights");
    int64_t experts = weightsType.getDimSize(0), K = weightsType.getDimSize(1),
            N = weightsType.getDimSize(2);
    int64_t elementBytes = weightType.getIntOrFloatBitWidth() / 8;
    if (K == 0 || N % (kVectorBytes / elementBytes) != 0)
      return rewriter.notifyMatchFailure(op, "weight rows do not split into 16-byte vectors");
    ExpertAttr expert = op.getExpertAttr();
    if (expert && expert.getActivation() == Activation::swiglu_clamped && !expert.getGated())
      return rewriter.notifyMatchFailure(op, "the clamped SwiGLU needs a gated product");

    int64_t busyExperts = std::min(experts, moec::expectedRoutedRows(op).value_or(experts));
    SplitKShape shape = chooseShape(K, N, elementBytes, rowsPerExpert, busyExperts,
                                    options.blocksToFill, options.kSplits);
    if (!chooseAtRunTime) {
      rewriter.replaceOp(op, lowerToNests(rewriter, op, shape));
      return success();
    }
    // The host knows the sizes before it queues any work, so the choice costs no wait.
    Value expected = moec::expectedRowsPerExpert(rewriter, op);
    Value fits = arith::CmpIOp::create(
        rewriter, op.getLoc(), arith::CmpIPredicate::ule, expected,
        arith::ConstantIndexOp::create(rewriter, op.getLoc(), options.maxRowsPerExpert));
    auto choice = scf::IfOp::create(
        rewriter, op.getLoc(), fits,
        [&](OpBuilder &, Location loc) {
          scf::YieldOp::create(rewriter, loc, lowerToNests(rewriter, op, shape));
        },
        [&](OpBuilder &, Location loc) {
          scf::YieldOp::create(rewriter, loc, rewriter.clone(*op)->getResults());
        });
    rewriter.replaceOp(op, choice.getResults());
    return success();
  }

  /// The two nests computing `op`'s result, at the rewriter's insertion point.
  static Value lowerToNests(PatternRewriter &rewriter, GroupedMatmulOp op,
                            const SplitKShape &shape) {
    SplitKLowering lowering(rewriter, op, shape);
    lowering.emitSplitK();
    lowering.emitEpilogue();
    return lowering.kb.toTensors(op, {lowering.result}).front();
  }

  moec::LowerGroupedMatmulToGEMVOptions options;

private:
  /// The two nests of one grouped matmul.
  struct SplitKLowering {
    SplitKLowering(PatternRewriter &rewriter, GroupedMatmulOp op, const SplitKShape &shape)
        : kb(rewriter, op, kernelShape), op(op), shape(shape) {
      input = kb.buffer(op.getInput());
      weights = kb.buffer(op.getWeights());
      offsets = kb.buffer(op.getExpertOffsets());
      sortedIds = op.getSortedIds() ? kb.buffer(op.getSortedIds()) : Value();
      bias = op.getBias() ? kb.buffer(op.getBias()) : Value();
      ExpertAttr expert = op.getExpertAttr();
      gated = expert && expert.getGated();
      rows = kb.dim(sortedIds ? sortedIds : input, 0);
      inputRows = kb.dim(input, 0);
      experts = kb.dim(weights, 0);
      depth = kb.dim(weights, 1);
      columns = kb.dim(weights, 2);
      resultColumns = gated ? kb.div(columns, kb.index(2)) : columns;
      rowsPerToken = std::max<int64_t>(op.getRowsPerToken().value_or(1), 1);
      validIds = kb.mul(inputRows, kb.index(rowsPerToken));
      segments.emplace(kb, offsets, rows, experts);
      MemRefType partialsType = MemRefType::get(
          {shape.splits, ShapedType::kDynamic, cast<ShapedType>(weights.getType()).getDimSize(2)},
          kb.b.getF32Type());
      partials = memref::AllocOp::create(kb.b, partialsType, ValueRange{rows});
      result = kb.alloc(op.getResult().getType(), {rows, resultColumns});
    }

    /// The name of the kernel of `kind`: the op's configuration, spelled as the tensor-core
    /// kernels spell it, and the K splits.
    std::string kernelName(StringRef kind) const {
      std::string name = kind.str();
      llvm::raw_string_ostream os(name);
      moec::grouped_matmul::getMatmulConfig(op).printName(os);
      os << "_split" << shape.splits;
      return moec::grouped_matmul::kernelSymbolName(name);
    }

    /// Where slot `row` reads its input, and whether it names a pair (always, without
    /// the gather).
    std::pair<Value, Value> inputRowOf(Value row) {
      if (!sortedIds)
        return {row, Value()};
      Value idI32 = memref::LoadOp::create(kb.b, sortedIds, ValueRange{row});
      Value id = arith::IndexCastOp::create(kb.b, kb.b.getIndexType(), idI32);
      return {kb.div(id, kb.index(rowsPerToken)), kb.validId(idI32, validIds)};
    }

    /// partials[split, row, columns of a thread's vector] = the row's input over the
    /// split's K chunk times those weight columns of the row's expert.
    void emitSplitK() {
      int64_t width = shape.vectorWidth;
      auto accumulatorType = VectorType::get({width}, kb.b.getF32Type());
      Value vectors = kb.index(cast<ShapedType>(weights.getType()).getDimSize(2) / width);
      kb.grid(
          kernelName("grouped_matmul_splitk_"),
          {experts, kb.index(shape.splits), kb.index(shape.columnBlocks)}, shape.threads,
          [&](ValueRange block, Value thread) {
            Value e = block[0], split = block[1];
            Value vector = kb.add(kb.mul(block[2], kb.index(shape.threads)), thread);
            Value column = kb.mul(vector, kb.index(width));
            Value first = segments->start(e), end = segments->start(kb.add(e, kb.index(1)));
            // An expert without rows, or (with the gather) without tokens to read, exits.
            Value busy = kb.both(kb.both(kb.ult(first, end), kb.ult(kb.index(0), inputRows)),
                                 kb.ult(vector, vectors));
            kb.ifThen(busy, [&] {
              Value kBegin = kb.mul(split, kb.index(shape.chunk));
              Value kEnd = arith::MinUIOp::create(kb.b, kb.add(kBegin, kb.index(shape.chunk)),
                                                  depth);
              auto pass = scf::ForOp::create(kb.b, first, end, kb.index(shape.rowsPerPass));
              OpBuilder::InsertionGuard guard(kb.b);
              kb.b.setInsertionPoint(pass.getBody()->getTerminator());
              Value passStart = pass.getInductionVar();
              // The rows of this pass: those past the segment, and padding slots, read
              // row 0 of the input (which exists) and store nothing.
              SmallVector<Value> rowsOfPass, inputRowsOfPass, live;
              for (int64_t r = 0; r < shape.rowsPerPass; ++r) {
                Value row = kb.add(passStart, kb.index(r));
                Value inSegment = kb.ult(row, end);
                Value safeRow = kb.select(inSegment, row, first);
                auto [inputRow, named] = inputRowOf(safeRow);
                Value rowLive = named ? kb.both(inSegment, named) : inSegment;
                rowsOfPass.push_back(row);
                inputRowsOfPass.push_back(kb.select(rowLive, inputRow, kb.index(0)));
                live.push_back(rowLive);
              }
              Value zero = arith::ConstantOp::create(
                  kb.b, cast<TypedAttr>(kb.b.getZeroAttr(accumulatorType)));
              SmallVector<Value> inits(shape.rowsPerPass, zero);
              ValueRange sums = kb.forLoop(
                  kBegin, kEnd, inits, [&](Value k, ValueRange carried) {
                    Value w = loadWeightVector(e, k, column, accumulatorType);
                    SmallVector<Value> next;
                    for (int64_t r = 0; r < shape.rowsPerPass; ++r) {
                      Value x = kb.select(live[r], kb.loadF32(input, {inputRowsOfPass[r], k}),
                                          kb.f32(0.0f));
                      Value xs = vector::BroadcastOp::create(kb.b, accumulatorType, x);
                      next.push_back(vector::FMAOp::create(kb.b, xs, w, carried[r]));
                    }
                    return next;
                  });
              for (int64_t r = 0; r < shape.rowsPerPass; ++r)
                kb.ifThen(live[r], [&] {
                  vector::StoreOp::create(kb.b, sums[r], partials,
                                          ValueRange{split, rowsOfPass[r], column},
                                          /*nontemporal=*/false, llvm::Align(kVectorBytes));
                });
            });
          });
    }

    /// Expert `e`'s weights [k, column .. column + width) as f32, one 16-byte load.
    Value loadWeightVector(Value e, Value k, Value column, VectorType accumulatorType) {
      Type element = cast<MemRefType>(weights.getType()).getElementType();
      Value loaded = vector::LoadOp::create(
          kb.b, VectorType::get(accumulatorType.getShape(), element), weights,
          ValueRange{e, k, column}, /*nontemporal=*/false, llvm::Align(kVectorBytes));
      if (element.isF32())
        return loaded;
      return arith::ExtFOp::create(kb.b, accumulatorType, loaded);
    }

    /// result[row, column] = epilogue(bias + the sum of the splits' partials); zero for
    /// padding slots and slots outside every segment.
    void emitEpilogue() {
      kb.grid(
          kernelName("grouped_matmul_splitk_sum_"), {rows, kb.ceilDiv(resultColumns, kThreads)},
          kThreads, [&](ValueRange block, Value thread) {
            Value row = block[0];
            Value first = segments->start(kb.index(0));
            Value column = kb.add(kb.mul(block[1], kb.index(kThreads)), thread);
            kb.ifThen(kb.ult(column, resultColumns), [&] {
              Value computes = kb.both(
                  arith::CmpIOp::create(kb.b, arith::CmpIPredicate::uge, row, first),
                  kb.ult(row, segments->used()));
              if (sortedIds)
                computes = kb.both(computes, inputRowOf(row).second);
              kb.ifThen(
                  computes,
                  [&] {
                    Value e = segments->expertOfRow(row);
                    Value gate = sumOfColumn(e, row, column);
                    Value up = gated ? sumOfColumn(e, row, kb.add(column, resultColumns))
                                     : Value();
                    ExpertAttr expert = op.getExpertAttr();
                    Value value = expert ? expertEpilogue(kb, expert, gate, up) : gate;
                    kb.storeF32(value, result, {row, column});
                  },
                  [&] { kb.storeF32(kb.f32(0.0f), result, {row, column}); });
            });
          });
    }

    /// The bias plus the partial sums of `row` at `column`, in split order.
    Value sumOfColumn(Value e, Value row, Value column) {
      Value sum = kb.forLoop(kb.index(0), kb.index(shape.splits), {kb.f32(0.0f)},
                             [&](Value split, ValueRange carried) -> SmallVector<Value> {
                               return {kb.add(carried[0],
                                              kb.loadF32(partials, {split, row, column}))};
                             })[0];
      return bias ? kb.add(sum, kb.loadF32(bias, {e, column})) : sum;
    }

    // Both nests have kThreads threads a block; the builder's other sizes are unused.
    const KernelShape kernelShape{kThreads, 1, kThreads, 1};
    KernelBuilder kb;
    GroupedMatmulOp op;
    const SplitKShape &shape;
    Value input, weights, offsets, sortedIds, bias, partials, result;
    Value rows, inputRows, experts, depth, columns, resultColumns, validIds;
    int64_t rowsPerToken;
    bool gated;
    std::optional<ExpertSegments> segments;
  };
};

struct LowerGroupedMatmulToGEMV
    : moec::impl::LowerGroupedMatmulToGEMVBase<LowerGroupedMatmulToGEMV> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto [name, value] : {std::pair<StringRef, int64_t>{"max-rows-per-expert", maxRowsPerExpert},
                               {"blocks-to-fill", blocksToFill}})
      if (value < 1) {
        module.emitError() << getArgument() << ": " << name << " must be positive, not "
                           << value;
        return signalPassFailure();
      }
    moec::LowerGroupedMatmulToGEMVOptions options{maxRowsPerExpert, expectedRowsPerExpert,
                                                  kSplits, blocksToFill, chooseAtRunTime};
    RewritePatternSet patterns(&getContext());
    patterns.add<GroupedMatmulToGEMV>(&getContext(), options);
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();
  }
};
} // namespace
