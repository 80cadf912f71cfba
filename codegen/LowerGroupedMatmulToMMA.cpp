//===- LowerGroupedMatmulToMMA.cpp - Expert GEMMs on tensor cores ---------===//
//
// Builds one warp-level tensor-core kernel per distinct grouped-matmul configuration
// (element types, K, N, prologue, epilogue, tiling) in the gpu.module @moec_kernels and
// launches it on buffers. The fragment layouts are those of the PTX ISA's "Matrix
// Fragments for mma.m16n8k16 with floating point type" (docs/gpu-mma.md draws them).
//
//===----------------------------------------------------------------------===//

#include "moec/Codegen/Passes.h"
#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/FormatVariadic.h"

#include <optional>

namespace moec {
#define GEN_PASS_DEF_LOWERGROUPEDMATMULTOMMA
#include "codegen/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;

/// The gpu.module that holds every kernel of a model (docs/gpu-codegen.md).
static constexpr StringLiteral kKernelModuleName = "moec_kernels";

/// The shape of one `mma.sync` tile: m16n8k16.
static constexpr int64_t kTileM = 16, kTileN = 8, kTileK = 16;
static constexpr int64_t kWarpSize = 32;

/// The compute capability of `chip` ("sm_80", "sm_90a", ...), if it names one.
static std::optional<int64_t> computeCapability(StringRef chip) {
  int64_t version;
  if (!chip.consume_front("sm_"))
    return std::nullopt;
  chip.consume_back("a");
  if (chip.getAsInteger(10, version))
    return std::nullopt;
  return version;
}

namespace {
/// How a kernel cuts the result: every warp computes `mTiles` x `nTiles` mma tiles
/// (16 x 8 each), a block holds `warpsM` x `warpsN` warps.
struct MmaTiling {
  int64_t warpsM, warpsN, mTiles, nTiles;

  int64_t warpRows() const { return mTiles * kTileM; }
  int64_t warpColumns() const { return nTiles * kTileN; }
  int64_t blockRows() const { return warpsM * warpRows(); }
  int64_t blockColumns() const { return warpsN * warpColumns(); }
  int64_t threads() const { return warpsM * warpsN * kWarpSize; }
};
} // namespace

/// The tiling for a product whose experts each see about `rowsPerExpert` rows, with
/// `outColumns` result columns (a multiple of 8).
///
/// Few rows per expert (decoding): the product reads every weight once and is bound by
/// memory, so a warp owns one 16-row tile and two 8-column tiles and many small blocks
/// stream the weights in parallel. More rows: each warp computes 2 x 4 tiles, reusing
/// every A fragment for four mma and every B fragment for two, in 2 x 2 warps (64 x 64
/// per block), where the weights' reuse across rows pays for the larger tiles. Blocks
/// never get wider than the result. The chip does not enter yet: with fragments loaded
/// straight from global memory there is no shared memory to size.
static MmaTiling chooseTiling(int64_t rowsPerExpert, int64_t outColumns) {
  MmaTiling tiling = rowsPerExpert <= kTileM ? MmaTiling{1, 4, 1, 2} : MmaTiling{2, 2, 2, 4};
  while (tiling.nTiles > 1 && tiling.warpColumns() > outColumns)
    tiling.nTiles /= 2;
  while (tiling.warpsN > 1 && tiling.blockColumns() > outColumns)
    tiling.warpsN /= 2;
  return tiling;
}

namespace {
/// What a grouped matmul needs from its kernel; equal configurations share one kernel.
struct KernelConfig {
  Type elementType; // of the input, weights, bias and result alike (the op's verifier)
  int64_t K, N;
  std::optional<int64_t> rowsPerToken; // set when the kernel gathers through sorted_ids
  bool hasBias;
  std::optional<Activation> activation;
  bool gated;
  double alpha, limit;
  MmaTiling tiling;

  int64_t outColumns() const { return gated ? N / 2 : N; }

  /// The kernel's name, which spells out every field: kernels are found again by it.
  std::string name() const {
    std::string result;
    llvm::raw_string_ostream os(result);
    os << "grouped_matmul_mma_" << elementType << "_k" << K << "_n" << N;
    if (rowsPerToken)
      os << "_gather" << *rowsPerToken;
    if (hasBias)
      os << "_bias";
    if (activation) {
      os << "_" << stringifyActivation(*activation);
      if (*activation == Activation::swiglu_clamped)
        os << llvm::formatv("_alpha{0}_limit{1}", alpha, limit);
    }
    if (gated)
      os << "_gated";
    os << "_w" << tiling.warpsM << "x" << tiling.warpsN << "_t"
       << tiling.mTiles << "x" << tiling.nTiles;
    // Symbol names keep to identifier characters.
    for (char &c : result)
      if (!llvm::isAlnum(c) && c != '_')
        c = '_';
    return result;
  }
};

/// The kernel's memref arguments: every row count is dynamic, so that one kernel serves
/// every token count.
struct KernelSignature {
  MemRefType input, weights, offsets, sortedIds, bias, result;

  explicit KernelSignature(const KernelConfig &config) {
    MLIRContext *context = config.elementType.getContext();
    int64_t dynamic = ShapedType::kDynamic;
    Type i32 = IntegerType::get(context, 32);
    input = MemRefType::get({dynamic, config.K}, config.elementType);
    weights = MemRefType::get({dynamic, config.K, config.N}, config.elementType);
    offsets = MemRefType::get({dynamic}, i32);
    sortedIds = MemRefType::get({dynamic}, i32);
    bias = MemRefType::get({dynamic, config.N}, config.elementType);
    result = MemRefType::get({dynamic, config.outColumns()}, config.elementType);
  }

  SmallVector<Type> types(const KernelConfig &config) const {
    SmallVector<Type> result{input, weights, offsets};
    if (config.rowsPerToken)
      result.push_back(sortedIds);
    if (config.hasBias)
      result.push_back(bias);
    result.push_back(this->result);
    return result;
  }
};

/// Emits the body of one kernel. Every lane of a warp holds the fragments the PTX ISA
/// assigns it: with `group = lane / 4` and `pair = 2 * (lane % 4)`,
/// - A (16 x 16, row-major): rows group and group + 8, columns pair, pair + 1 and
///   pair + 8, pair + 9, as four registers of two elements;
/// - B (16 x 8, "col" = k-major pairs): column group, rows pair, pair + 1 (first
///   register) and pair + 8, pair + 9 (second);
/// - C/D (16 x 8 f32): rows group (c0, c1) and group + 8 (c2, c3), columns pair, pair + 1.
class MmaKernelEmitter {
public:
  MmaKernelEmitter(ImplicitLocOpBuilder &b, const KernelConfig &config, gpu::GPUFuncOp kernel)
      : b(b), config(config), tiling(config.tiling) {
    Block &entry = kernel.getBody().front();
    unsigned arg = 0;
    input = entry.getArgument(arg++);
    weights = entry.getArgument(arg++);
    offsets = entry.getArgument(arg++);
    if (config.rowsPerToken)
      sortedIds = entry.getArgument(arg++);
    if (config.hasBias)
      bias = entry.getArgument(arg++);
    result = entry.getArgument(arg++);
    f32 = b.getF32Type();
    elementPair = VectorType::get({2}, config.elementType);
    accumulatorType = VectorType::get({4}, f32);
  }

  void emit() {
    rows = dim(result, 0);
    experts = sub(dim(offsets, 0), index(1));
    Value thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    Value lane = arith::RemUIOp::create(b, thread, index(kWarpSize));
    Value warp = arith::DivUIOp::create(b, thread, index(kWarpSize));
    group = arith::DivUIOp::create(b, lane, index(4));
    pair = mul(arith::RemUIOp::create(b, lane, index(4)), index(2));
    Value warpM = arith::DivUIOp::create(b, warp, index(tiling.warpsN));
    Value warpN = arith::RemUIOp::create(b, warp, index(tiling.warpsN));
    firstRow = add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), index(tiling.blockRows())),
                   mul(warpM, index(tiling.warpRows())));
    firstColumn =
        add(mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), index(tiling.blockColumns())),
            mul(warpN, index(tiling.warpColumns())));

    zeroRowsOutsideSegments();
    forEachExpertOverlappingWarp([&](Value expert) { multiplyExpert(expert); });
    gpu::ReturnOp::create(b);
  }

private:
  // Small arithmetic helpers on index values.
  Value index(int64_t value) { return arith::ConstantIndexOp::create(b, value); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value cmp(arith::CmpIPredicate predicate, Value x, Value y) {
    return arith::CmpIOp::create(b, predicate, x, y);
  }
  Value both(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value dim(Value memref, int64_t d) { return memref::DimOp::create(b, memref, d); }
  Value f32Constant(double value) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(static_cast<float>(value)));
  }
  Value clamp(Value x, Value low, Value high) {
    return arith::MinSIOp::create(b, arith::MaxSIOp::create(b, x, low), high);
  }

  /// A pair starts at an even column of a row of an even number of 16-bit elements, so it
  /// is one aligned 32-bit access.
  llvm::Align pairAlignment() const {
    return llvm::Align(2 * config.elementType.getIntOrFloatBitWidth() / 8);
  }

  /// The result row of half `half` (0: rows group, 1: group + 8) of row tile `mTile`.
  Value laneRow(int64_t mTile, int64_t half) {
    return add(firstRow, add(group, index(mTile * kTileM + half * 8)));
  }
  /// The first of the two result columns this lane holds in column tile `nTile`.
  Value laneColumn(int64_t nTile) {
    return add(firstColumn, add(pair, index(nTile * kTileN)));
  }

  /// The clamped bounds of expert `e`'s segment, as the host kernel reads them.
  Value segmentBegin(Value e) {
    Value offset = memref::LoadOp::create(b, offsets, e);
    return clamp(arith::IndexCastOp::create(b, b.getIndexType(), offset), index(0), rows);
  }
  Value segmentEnd(Value e) {
    Value offset = memref::LoadOp::create(b, offsets, add(e, index(1)));
    return clamp(arith::IndexCastOp::create(b, b.getIndexType(), offset), segmentBegin(e),
                 rows);
  }

  /// Stores the pairs `values(mTile, half, nTile)` (two result columns each) of this lane
  /// where `predicate(row)` holds and the columns exist.
  void storePairs(function_ref<Value(Value row)> predicate,
                  function_ref<Value(int64_t mTile, int64_t half, int64_t nTile)> values) {
    for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile)
      for (int64_t half = 0; half < 2; ++half) {
        Value row = laneRow(mTile, half);
        Value rowStored = predicate(row);
        for (int64_t nTile = 0; nTile < tiling.nTiles; ++nTile) {
          Value column = laneColumn(nTile);
          Value stored =
              both(rowStored, cmp(arith::CmpIPredicate::ult, column, index(config.outColumns())));
          auto ifStored = scf::IfOp::create(b, stored, /*withElseRegion=*/false);
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToStart(ifStored.thenBlock());
          vector::StoreOp::create(b, values(mTile, half, nTile), result, ValueRange{row, column},
                                  /*nontemporal=*/false, pairAlignment());
        }
      }
  }

  /// Rows before the first segment or after the last one are zero.
  void zeroRowsOutsideSegments() {
    Value covered = segmentBegin(index(0));
    // The last offset, read directly: there may be no expert at all.
    Value coveredEnd = clamp(arith::IndexCastOp::create(b, b.getIndexType(),
                                                        memref::LoadOp::create(b, offsets, experts)),
                             covered, rows);
    Value zeros = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({2}, config.elementType),
                                  b.getZeroAttr(config.elementType)));
    storePairs(
        [&](Value row) {
          Value outside = arith::OrIOp::create(b, cmp(arith::CmpIPredicate::slt, row, covered),
                                               cmp(arith::CmpIPredicate::sge, row, coveredEnd));
          return both(outside, cmp(arith::CmpIPredicate::slt, row, rows));
        },
        [&](int64_t, int64_t, int64_t) { return zeros; });
  }

  /// Calls `body` with every expert whose segment overlaps this warp's rows, in order:
  /// a binary search for the first segment that ends after the warp's first row, then
  /// every segment that begins before its last.
  void forEachExpertOverlappingWarp(function_ref<void(Value expert)> body) {
    Type indexType = b.getIndexType();
    auto search = scf::WhileOp::create(b, TypeRange{indexType, indexType},
                                       ValueRange{index(0), experts});
    {
      OpBuilder::InsertionGuard guard(b);
      Block *before = b.createBlock(&search.getBefore(), {}, {indexType, indexType},
                                    {b.getLoc(), b.getLoc()});
      Value low = before->getArgument(0), high = before->getArgument(1);
      scf::ConditionOp::create(b, cmp(arith::CmpIPredicate::slt, low, high), before->getArguments());
      Block *after = b.createBlock(&search.getAfter(), {}, {indexType, indexType},
                                   {b.getLoc(), b.getLoc()});
      low = after->getArgument(0);
      high = after->getArgument(1);
      Value middle = arith::DivUIOp::create(b, add(low, high), index(2));
      Value endsAfter = cmp(arith::CmpIPredicate::sgt, segmentEnd(middle), firstRow);
      scf::YieldOp::create(
          b, ValueRange{arith::SelectOp::create(b, endsAfter, low, add(middle, index(1))),
                        arith::SelectOp::create(b, endsAfter, middle, high)});
    }
    Value warpEnd = add(firstRow, index(tiling.warpRows()));
    auto loop = scf::WhileOp::create(b, TypeRange{indexType}, ValueRange{search.getResult(0)});
    OpBuilder::InsertionGuard guard(b);
    Block *before = b.createBlock(&loop.getBefore(), {}, {indexType}, {b.getLoc()});
    Value expert = before->getArgument(0);
    // The segment is only read once the expert is known to exist.
    Value exists = cmp(arith::CmpIPredicate::slt, expert, experts);
    auto overlaps = scf::IfOp::create(b, b.getI1Type(), exists, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(overlaps.thenBlock());
      scf::YieldOp::create(b, cmp(arith::CmpIPredicate::slt, segmentBegin(expert), warpEnd));
      b.setInsertionPointToStart(overlaps.elseBlock());
      scf::YieldOp::create(b, arith::ConstantIntOp::create(b, b.getI1Type(), 0).getResult());
    }
    scf::ConditionOp::create(b, overlaps.getResult(0), ValueRange{expert});
    Block *after = b.createBlock(&loop.getAfter(), {}, {indexType}, {b.getLoc()});
    expert = after->getArgument(0);
    // Empty segments inside the warp's rows cost no k-loop.
    Value nonEmpty =
        cmp(arith::CmpIPredicate::slt, segmentBegin(expert), segmentEnd(expert));
    auto ifNonEmpty = scf::IfOp::create(b, nonEmpty, /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifNonEmpty.thenBlock());
      body(expert);
    }
    scf::YieldOp::create(b, add(expert, index(1)));
  }

  /// Where the A rows of this lane come from for one expert.
  struct LaneRow {
    Value row;      // the result row
    Value inSegment; // the row belongs to the expert
    Value valid;    // ... and is not padding: it has an input row
    Value source;   // the input row (0 when not valid, never read then)
  };

  LaneRow laneRowFor(int64_t mTile, int64_t half, Value begin, Value end) {
    LaneRow lane;
    lane.row = laneRow(mTile, half);
    lane.inSegment = both(cmp(arith::CmpIPredicate::sge, lane.row, begin),
                          cmp(arith::CmpIPredicate::slt, lane.row, end));
    if (!config.rowsPerToken) {
      lane.valid = lane.inSegment;
      lane.source = arith::SelectOp::create(b, lane.valid, lane.row, index(0));
      return lane;
    }
    // Slots past the result's rows are never in a segment, so the id load stays in
    // bounds with the row clamped.
    Value slot = arith::MinSIOp::create(b, lane.row, sub(rows, index(1)));
    Value id = arith::IndexCastOp::create(b, b.getIndexType(),
                                          memref::LoadOp::create(b, sortedIds, slot));
    Value validIds = mul(dim(input, 0), index(*config.rowsPerToken));
    lane.valid = both(lane.inSegment, both(cmp(arith::CmpIPredicate::sge, id, index(0)),
                                           cmp(arith::CmpIPredicate::slt, id, validIds)));
    lane.source = arith::SelectOp::create(
        b, lane.valid, arith::DivUIOp::create(b, id, index(*config.rowsPerToken)), index(0));
    return lane;
  }

  /// Two consecutive input elements of `lane`'s row from column `column`, zero for rows
  /// that are not valid (masked, so that padding never reads memory).
  Value loadInputPair(const LaneRow &lane, Value column) {
    Value mask = vector::BroadcastOp::create(b, VectorType::get({2}, b.getI1Type()), lane.valid);
    Value zeros = arith::ConstantOp::create(
        b, DenseElementsAttr::get(elementPair, b.getZeroAttr(config.elementType)));
    return vector::MaskedLoadOp::create(b, elementPair, input, ValueRange{lane.source, column},
                                        mask, zeros, pairAlignment());
  }

  /// A fragment register as mma.sync takes it: bf16 pairs travel as i32.
  Value fragmentRegister(Value pair) {
    if (!config.elementType.isBF16())
      return pair;
    Value word = vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), pair);
    return vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0});
  }

  /// The B fragment of weight column `column` of `expert` for the k-step at `k`.
  SmallVector<Value, 2> loadWeightFragment(Value expert, Value column, Value k) {
    SmallVector<Value, 2> registers;
    for (int64_t step : {0, 8}) {
      Value k0 = add(k, add(pair, index(step)));
      Value low = memref::LoadOp::create(b, weights, ValueRange{expert, k0, column});
      Value high = memref::LoadOp::create(b, weights, ValueRange{expert, add(k0, index(1)), column});
      registers.push_back(fragmentRegister(
          vector::FromElementsOp::create(b, elementPair, ValueRange{low, high})));
    }
    return registers;
  }

  /// The accumulator index of tile (mTile, nTile) of projection half `part` (0: the
  /// product or the gate, 1: the up half of a gated product).
  int64_t accumulatorIndex(int64_t mTile, int64_t nTile, int64_t part) const {
    return (part * tiling.mTiles + mTile) * tiling.nTiles + nTile;
  }
  int64_t parts() const { return config.gated ? 2 : 1; }

  Value mma(ArrayRef<Value> a, ArrayRef<Value> bFragment, Value accumulator) {
    SmallVector<Value, 4> c;
    for (int64_t i = 0; i < 4; ++i)
      c.push_back(vector::ExtractOp::create(b, accumulator, ArrayRef<int64_t>{i}));
    NVVM::MMATypes ptxType =
        config.elementType.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
    auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    Value d = NVVM::MmaOp::create(
        b, resultType, a, bFragment, c, ArrayRef<int64_t>{kTileM, kTileN, kTileK},
        /*b1Op=*/std::nullopt, /*intOverflow=*/std::nullopt,
        std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
    SmallVector<Value, 4> elements;
    for (int64_t i = 0; i < 4; ++i)
      elements.push_back(LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{i}));
    return vector::FromElementsOp::create(b, accumulatorType, elements);
  }

  /// The k-loop of one expert over this warp's tiles, then its epilogue.
  void multiplyExpert(Value expert) {
    Value begin = segmentBegin(expert), end = segmentEnd(expert);
    SmallVector<LaneRow> lanes; // [mTile][half]
    for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile)
      for (int64_t half = 0; half < 2; ++half)
        lanes.push_back(laneRowFor(mTile, half, begin, end));
    // Columns past the result (the last block's) read the last weight column; they are
    // never stored.
    SmallVector<Value> weightColumns(parts() * tiling.nTiles); // [part][nTile]
    for (int64_t nTile = 0; nTile < tiling.nTiles; ++nTile) {
      Value column = add(add(firstColumn, group), index(nTile * kTileN));
      column = arith::MinUIOp::create(b, column, index(config.outColumns() - 1));
      weightColumns[nTile] = column;
      if (config.gated)
        weightColumns[tiling.nTiles + nTile] = add(column, index(config.outColumns()));
    }

    Value zero = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accumulatorType, b.getZeroAttr(f32)));
    SmallVector<Value> initial(parts() * tiling.mTiles * tiling.nTiles, zero);
    auto kLoop = scf::ForOp::create(b, index(0), index(config.K), index(kTileK), initial);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(kLoop.getBody());
      Value k = kLoop.getInductionVar();
      SmallVector<SmallVector<Value, 4>> aFragments;
      for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile) {
        const LaneRow &top = lanes[mTile * 2], &bottom = lanes[mTile * 2 + 1];
        Value low = add(k, pair), high = add(k, add(pair, index(8)));
        aFragments.push_back({fragmentRegister(loadInputPair(top, low)),
                              fragmentRegister(loadInputPair(bottom, low)),
                              fragmentRegister(loadInputPair(top, high)),
                              fragmentRegister(loadInputPair(bottom, high))});
      }
      SmallVector<Value> accumulators(kLoop.getRegionIterArgs());
      for (int64_t part = 0; part < parts(); ++part)
        for (int64_t nTile = 0; nTile < tiling.nTiles; ++nTile) {
          SmallVector<Value, 2> bFragment = loadWeightFragment(
              expert, weightColumns[part * tiling.nTiles + nTile], k);
          for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile) {
            Value &accumulator = accumulators[accumulatorIndex(mTile, nTile, part)];
            accumulator = mma(aFragments[mTile], bFragment, accumulator);
          }
        }
      scf::YieldOp::create(b, accumulators);
    }

    storePairs(
        [&](Value row) {
          return both(cmp(arith::CmpIPredicate::sge, row, begin),
                      cmp(arith::CmpIPredicate::slt, row, end));
        },
        [&](int64_t mTile, int64_t half, int64_t nTile) {
          const LaneRow &lane = lanes[mTile * 2 + half];
          SmallVector<Value, 2> outputs;
          for (int64_t element = 0; element < 2; ++element) {
            SmallVector<Value, 2> values; // [part]
            for (int64_t part = 0; part < parts(); ++part) {
              Value accumulator = kLoop.getResult(accumulatorIndex(mTile, nTile, part));
              Value value = vector::ExtractOp::create(b, accumulator,
                                                      ArrayRef<int64_t>{half * 2 + element});
              if (bias) {
                Value column = add(laneColumn(nTile), index(element + part * config.outColumns()));
                Value biasValue = memref::LoadOp::create(b, bias, ValueRange{expert, column});
                value = arith::AddFOp::create(b, value, toF32(biasValue));
              }
              values.push_back(value);
            }
            Value output = applyEpilogue(values[0], config.gated ? values[1] : Value());
            // Padding rows of the segment are zero.
            output = arith::SelectOp::create(b, lane.valid, output, f32Constant(0.0));
            outputs.push_back(fromF32(output));
          }
          return vector::FromElementsOp::create(
              b, VectorType::get({2}, config.elementType), outputs);
        });
  }

  Value toF32(Value value) {
    return value.getType() == f32 ? value : arith::ExtFOp::create(b, f32, value).getResult();
  }
  Value fromF32(Value value) {
    return config.elementType == f32
               ? value
               : arith::TruncFOp::create(b, config.elementType, value).getResult();
  }

  Value sigmoid(Value x) {
    Value one = f32Constant(1.0);
    Value exp = math::ExpOp::create(b, arith::NegFOp::create(b, x));
    return arith::DivFOp::create(b, one, arith::AddFOp::create(b, one, exp));
  }

  /// act(gate) (* up when gated), as lib/runtime/MoEGroupedMatmul.cpp computes it.
  Value applyEpilogue(Value gate, Value up) {
    if (!config.activation)
      return gate;
    auto mulf = [&](Value x, Value y) { return arith::MulFOp::create(b, x, y).getResult(); };
    Value activated;
    switch (*config.activation) {
    case Activation::relu:
      activated = arith::MaximumFOp::create(b, gate, f32Constant(0.0));
      break;
    case Activation::gelu: {
      Value erf = math::ErfOp::create(b, mulf(gate, f32Constant(M_SQRT1_2)));
      activated = mulf(mulf(f32Constant(0.5), gate),
                       arith::AddFOp::create(b, f32Constant(1.0), erf));
      break;
    }
    case Activation::gelu_tanh: {
      // 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = sqrt(2 / pi) (x + 0.044715 x^3).
      Value cube = mulf(mulf(gate, gate), gate);
      Value u = mulf(f32Constant(0.7978845608),
                     arith::AddFOp::create(b, gate, mulf(f32Constant(0.044715), cube)));
      activated = mulf(gate, sigmoid(mulf(f32Constant(2.0), u)));
      break;
    }
    case Activation::silu:
      activated = mulf(gate, sigmoid(gate));
      break;
    case Activation::swiglu_clamped: {
      Value limit = f32Constant(config.limit);
      Value g = arith::MinimumFOp::create(b, gate, limit);
      Value u = arith::MinimumFOp::create(
          b, arith::MaximumFOp::create(b, up, f32Constant(-config.limit)), limit);
      Value gLinear = mulf(g, sigmoid(mulf(f32Constant(config.alpha), g)));
      return mulf(arith::AddFOp::create(b, u, f32Constant(1.0)), gLinear);
    }
    }
    return up ? mulf(activated, up) : activated;
  }

  ImplicitLocOpBuilder &b;
  const KernelConfig &config;
  const MmaTiling &tiling;
  Value input, weights, offsets, sortedIds, bias, result;
  Type f32;
  VectorType elementPair, accumulatorType;
  Value rows, experts, group, pair, firstRow, firstColumn;
};

/// The kernel module of `module`, created empty (no target yet: the GPU pipeline attaches
/// the chip's) when it does not exist.
gpu::GPUModuleOp getOrCreateKernelModule(PatternRewriter &rewriter, ModuleOp module) {
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName))
    return existing;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToEnd(module.getBody());
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), rewriter.getUnitAttr());
  return gpu::GPUModuleOp::create(rewriter, module.getLoc(), kKernelModuleName);
}

/// The kernel for `config` in `kernels`, emitted the first time it is asked for.
gpu::GPUFuncOp getOrCreateKernel(PatternRewriter &rewriter, gpu::GPUModuleOp kernels,
                                 const KernelConfig &config, Location loc) {
  std::string name = config.name();
  if (auto existing = kernels.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPointToEnd(kernels.getBody());
  KernelSignature signature(config);
  auto kernel = gpu::GPUFuncOp::create(rewriter, loc, name,
                                       rewriter.getFunctionType(signature.types(config), {}));
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), rewriter.getUnitAttr());
  kernel.setKnownBlockSizeAttr(
      rewriter.getDenseI32ArrayAttr({static_cast<int32_t>(config.tiling.threads()), 1, 1}));
  ImplicitLocOpBuilder b(loc, rewriter);
  b.setInsertionPointToStart(&kernel.getBody().front());
  MmaKernelEmitter(b, config, kernel).emit();
  return kernel;
}

struct GroupedMatmulToMMA : OpRewritePattern<GroupedMatmulOp> {
  GroupedMatmulToMMA(MLIRContext *context, int64_t expectedRowsPerExpert)
      : OpRewritePattern(context), expectedRowsPerExpert(expectedRowsPerExpert) {}

  /// Rows per expert the tiling plans for: the option's, else the static slot count
  /// spread over the experts, else many (prefill).
  int64_t rowsPerExpert(GroupedMatmulOp op) const {
    if (expectedRowsPerExpert > 0)
      return expectedRowsPerExpert;
    int64_t slots = cast<ShapedType>(op.getResult().getType()).getDimSize(0);
    int64_t experts = cast<ShapedType>(op.getWeights().getType()).getDimSize(0);
    if (ShapedType::isDynamic(slots) || ShapedType::isDynamic(experts) || experts == 0)
      return std::numeric_limits<int64_t>::max();
    return llvm::divideCeil(slots, experts);
  }

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    Type elementType = getElementTypeOrSelf(op.getInput());
    if (!elementType.isBF16() && !elementType.isF16())
      return rewriter.notifyMatchFailure(op, "tensor cores take bf16 or f16 here");
    if (op.getScales())
      return rewriter.notifyMatchFailure(op, "quantized weights");
    auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
    int64_t K = weightsType.getDimSize(1), N = weightsType.getDimSize(2);
    ExpertAttr expert = op.getExpertAttr();
    bool gated = expert && expert.getGated();
    if (ShapedType::isDynamic(K) || ShapedType::isDynamic(N) || K % kTileK != 0 ||
        (gated ? N / 2 : N) % kTileN != 0)
      return rewriter.notifyMatchFailure(
          op, "needs static weights with rows a multiple of 16 and result columns of 8");
    if (expert && expert.getActivation() == Activation::swiglu_clamped && !gated)
      return rewriter.notifyMatchFailure(op, "the clamped SwiGLU needs a gated product");

    KernelConfig config;
    config.elementType = elementType;
    config.elementType = op.getBias() ? getElementTypeOrSelf(op.getBias()) : elementType;
    config.elementType = getElementTypeOrSelf(op.getResult());
    config.K = K;
    config.N = N;
    if (op.getSortedIds())
      config.rowsPerToken = op.getRowsPerToken().value_or(1);
    config.hasBias = static_cast<bool>(op.getBias());
    if (expert)
      config.activation = expert.getActivation();
    config.gated = gated;
    config.alpha = expert ? expert.getAlpha().convertToDouble() : 0.0;
    config.limit = expert ? expert.getLimit().convertToDouble() : 0.0;
    config.tiling = chooseTiling(rowsPerExpert(op), config.outColumns());

    auto module = op->getParentOfType<ModuleOp>();
    gpu::GPUModuleOp kernels = getOrCreateKernelModule(rewriter, module);
    gpu::GPUFuncOp kernel = getOrCreateKernel(rewriter, kernels, config, op.getLoc());

    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    KernelSignature signature(config);
    auto buffer = [&](Value tensor, MemRefType kernelType) -> Value {
      auto type = cast<RankedTensorType>(tensor.getType());
      Value memref = bufferization::ToBufferOp::create(
          b, MemRefType::get(type.getShape(), type.getElementType()), tensor,
          /*read_only=*/true);
      return b.createOrFold<memref::CastOp>(kernelType, memref);
    };
    SmallVector<Value> arguments{buffer(op.getInput(), signature.input),
                                 buffer(op.getWeights(), signature.weights),
                                 buffer(op.getExpertOffsets(), signature.offsets)};
    if (Value sortedIds = op.getSortedIds())
      arguments.push_back(buffer(sortedIds, signature.sortedIds));
    if (Value bias = op.getBias())
      arguments.push_back(buffer(bias, signature.bias));

    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    Value rows = b.createOrFold<tensor::DimOp>(op.getSortedIds() ? op.getSortedIds() : op.getInput(),
                                               0);
    SmallVector<Value> dynamicSizes;
    if (resultType.isDynamicDim(0))
      dynamicSizes.push_back(rows);
    Value resultBuffer = memref::AllocOp::create(
        b, MemRefType::get(resultType.getShape(), resultType.getElementType()), dynamicSizes);
    arguments.push_back(b.createOrFold<memref::CastOp>(signature.result, resultBuffer));

    // A grid with no blocks is a launch error: nothing to compute then.
    Value zero = arith::ConstantIndexOp::create(b, 0);
    Value one = arith::ConstantIndexOp::create(b, 1);
    auto ifRows =
        scf::IfOp::create(b, arith::CmpIOp::create(b, arith::CmpIPredicate::sgt, rows, zero),
                          /*withElseRegion=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifRows.thenBlock());
      const MmaTiling &tiling = config.tiling;
      Value rowBlocks = arith::CeilDivUIOp::create(
          b, rows, arith::ConstantIndexOp::create(b, tiling.blockRows()));
      Value columnBlocks = arith::ConstantIndexOp::create(
          b, llvm::divideCeil(config.outColumns(), tiling.blockColumns()));
      gpu::LaunchFuncOp::create(
          b, kernel, gpu::KernelDim3{rowBlocks, columnBlocks, one},
          gpu::KernelDim3{arith::ConstantIndexOp::create(b, tiling.threads()), one, one},
          /*dynamicSharedMemorySize=*/Value(), arguments);
    }
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(op, resultType, resultBuffer,
                                                           /*restrict=*/true,
                                                           /*writable=*/true);
    return success();
  }

  int64_t expectedRowsPerExpert;
};

struct LowerGroupedMatmulToMMA
    : moec::impl::LowerGroupedMatmulToMMABase<LowerGroupedMatmulToMMA> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<int64_t> capability = computeCapability(chip);
    if (!capability || *capability < 80) {
      module.emitError() << "moec-lower-grouped-matmul-to-mma: mma.sync m16n8k16 on bf16/f16 "
                            "needs sm_80 or newer, not '"
                         << chip << "'";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<GroupedMatmulToMMA>(&getContext(), expectedRowsPerExpert);
    // Only the grouped matmuls are rewritten; the kernels they create are not revisited.
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();
  }
};
} // namespace
