//===- LowerGroupedMatmulToMMA.cpp - Expert GEMMs on tensor cores ---------===//
//
// Builds one tensor-core kernel per distinct grouped-matmul configuration (element type,
// K, N, prologue, epilogue, tiling) in the gpu.module @moec_kernels and launches it on
// buffers: tiles staged in shared memory by cp.async, fragments loaded by ldmatrix,
// mma.sync m16n8k16 with f32 accumulators. The fragment layouts are those of the PTX
// ISA's "Matrix Fragments for mma.m16n8k16 with floating point type"; docs/gpu-mma.md
// derives the ldmatrix addressing from them. No GPU has run these kernels yet.
//
//===----------------------------------------------------------------------===//

#include "ExpertLoad.h"
#include "moec/Codegen/Passes.h"
#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
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

/// Rows of a shared-memory tile of `tileRows` rows of `chunksPerRow` 16-byte chunks when
/// `threads` threads each copy the same number of chunks: the copies past the tile land
/// in rows nothing reads. (`threads` is a multiple of 32 and `chunksPerRow` a power of
/// two up to 16, so the rows come out whole.)
static int64_t stagedRows(int64_t tileRows, int64_t chunksPerRow, int64_t threads) {
  return llvm::alignTo(tileRows * chunksPerRow, threads) / chunksPerRow;
}

/// The shape of one `mma.sync` tile: m16n8k16.
static constexpr int64_t kTileM = 16, kTileN = 8, kTileK = 16;
// kWarpSize (32) comes from NVGPUDialect.h.
/// Elements of one cp.async: 16 bytes of 16-bit elements.
static constexpr int64_t kChunk = 8;
/// Static shared memory a kernel may use on every chip from sm_80 on (more needs dynamic
/// shared memory and an opt-in at launch).
static constexpr int64_t kStaticSharedBytes = 48 * 1024;
/// Padding of every shared-memory row, in elements: rows of 16-byte multiples not a
/// multiple of 128 bytes apart, so that the 8 row addresses of one ldmatrix matrix fall
/// in different banks.
static constexpr int64_t kRowPadding = 8;

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
/// (16 x 8 each), a block holds `warpsM` x `warpsN` warps and steps through K by
/// `kBlock`, keeping `stages` k-blocks in flight in shared memory.
struct MmaTiling {
  int64_t warpsM, warpsN, mTiles, nTiles, kBlock, stages;

  int64_t warpRows() const { return mTiles * kTileM; }
  int64_t warpColumns() const { return nTiles * kTileN; }
  int64_t blockRows() const { return warpsM * warpRows(); }
  int64_t blockColumns() const { return warpsN * warpColumns(); }
  int64_t threads() const { return warpsM * warpsN * kWarpSize; }
};
} // namespace

/// Bytes of shared memory one stage of `tiling` takes: the input tile and the weight
/// tile of each of `parts` projection halves, with the rows stagedRows() adds.
static int64_t stageBytes(const MmaTiling &tiling, int64_t parts, int64_t elementBytes) {
  int64_t inputRows = stagedRows(tiling.blockRows(), tiling.kBlock / kChunk, tiling.threads());
  int64_t weightRows = stagedRows(tiling.kBlock, tiling.blockColumns() / kChunk, tiling.threads());
  return (inputRows * (tiling.kBlock + kRowPadding) +
          parts * weightRows * (tiling.blockColumns() + kRowPadding)) *
         elementBytes;
}

/// The tiling for a product whose experts each see about `rowsPerExpert` rows, with
/// `outColumns` result columns (a multiple of 8), K rows of weights and `parts` weight
/// column halves (2 when gated).
///
/// Few rows per expert (decoding): the product reads every weight once and is bound by
/// memory, so a warp owns one 16-row tile and two 8-column tiles, many small blocks
/// stream the weights in parallel, and up to four k-blocks per block are in flight to
/// cover the memory latency. More rows: each warp computes 2 x 4 tiles, reusing every A
/// fragment for four mma and every B fragment for two, in 2 x 2 warps (64 x 64 per
/// block), with three stages. Blocks never get wider than the result. A k-block is 32
/// (16 when K is not a multiple of 32). The stages are as many as fit in the 48 KiB of
/// static shared memory that every chip from sm_80 on has, so the chip does not enter
/// yet; sm_90's 228 KiB (dynamic shared memory) would allow larger tiles.
static MmaTiling chooseTiling(int64_t rowsPerExpert, int64_t outColumns, int64_t K,
                              int64_t parts) {
  int64_t kBlock = K % (2 * kTileK) == 0 ? 2 * kTileK : kTileK;
  bool decode = rowsPerExpert <= kTileM;
  MmaTiling tiling = decode ? MmaTiling{1, 4, 1, 2, kBlock, 4} : MmaTiling{2, 2, 2, 4, kBlock, 3};
  while (tiling.nTiles > 1 && tiling.warpColumns() > outColumns)
    tiling.nTiles /= 2;
  while (tiling.warpsN > 1 && tiling.blockColumns() > outColumns)
    tiling.warpsN /= 2;
  // The largest tiles take 14 KiB a stage, so two stages always fit.
  tiling.stages = std::min(tiling.stages, kStaticSharedBytes / stageBytes(tiling, parts, 2));
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
    os << "_w" << tiling.warpsM << "x" << tiling.warpsN << "_t" << tiling.mTiles << "x"
       << tiling.nTiles << "_kb" << tiling.kBlock << "_s" << tiling.stages;
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

  /// The shared-memory tiles: [stage][row][k] of the input, [stage][part][k][column] of
  /// the weights (part 1: the up half of a gated product).
  static SmallVector<Type> sharedTiles(const KernelConfig &config) {
    const MmaTiling &tiling = config.tiling;
    auto workgroup = gpu::AddressSpaceAttr::get(config.elementType.getContext(),
                                                gpu::AddressSpace::Workgroup);
    int64_t parts = config.gated ? 2 : 1;
    int64_t inputRows = stagedRows(tiling.blockRows(), tiling.kBlock / kChunk, tiling.threads());
    int64_t weightRows =
        stagedRows(tiling.kBlock, tiling.blockColumns() / kChunk, tiling.threads());
    return {MemRefType::get({tiling.stages, inputRows, tiling.kBlock + kRowPadding},
                            config.elementType, MemRefLayoutAttrInterface(), workgroup),
            MemRefType::get({tiling.stages, parts, weightRows, tiling.blockColumns() + kRowPadding},
                            config.elementType, MemRefLayoutAttrInterface(), workgroup)};
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
    stagedInput = kernel.getWorkgroupAttributions()[0];
    stagedWeights = kernel.getWorkgroupAttributions()[1];
    f32 = b.getF32Type();
    accumulatorType = VectorType::get({4}, f32);
  }

  void emit() {
    rows = dim(result, 0);
    experts = sub(dim(offsets, 0), index(1));
    thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    lane = arith::RemUIOp::create(b, thread, index(kWarpSize));
    Value warp = arith::DivUIOp::create(b, thread, index(kWarpSize));
    group = arith::DivUIOp::create(b, lane, index(4));
    pair = mul(arith::RemUIOp::create(b, lane, index(4)), index(2));
    warpRowOffset =
        mul(arith::DivUIOp::create(b, warp, index(tiling.warpsN)), index(tiling.warpRows()));
    warpColumnOffset =
        mul(arith::RemUIOp::create(b, warp, index(tiling.warpsN)), index(tiling.warpColumns()));
    blockFirstRow =
        mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), index(tiling.blockRows()));
    blockFirstColumn =
        mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), index(tiling.blockColumns()));
    firstRow = add(blockFirstRow, warpRowOffset);
    firstColumn = add(blockFirstColumn, warpColumnOffset);

    zeroRowsOutsideSegments();
    forEachExpertOverlappingBlock([&](Value expert) { multiplyExpert(expert); });
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

  /// Calls `body` with every expert whose segment overlaps this block's rows, in order:
  /// a binary search for the first segment that ends after the block's first row, then
  /// every segment that begins before its last. Every thread of the block takes the same
  /// path, so the body may synchronize the block.
  void forEachExpertOverlappingBlock(function_ref<void(Value expert)> body) {
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
      Value endsAfter = cmp(arith::CmpIPredicate::sgt, segmentEnd(middle), blockFirstRow);
      scf::YieldOp::create(
          b, ValueRange{arith::SelectOp::create(b, endsAfter, low, add(middle, index(1))),
                        arith::SelectOp::create(b, endsAfter, middle, high)});
    }
    Value blockEnd = add(blockFirstRow, index(tiling.blockRows()));
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
      scf::YieldOp::create(b, cmp(arith::CmpIPredicate::slt, segmentBegin(expert), blockEnd));
      b.setInsertionPointToStart(overlaps.elseBlock());
      scf::YieldOp::create(b, arith::ConstantIntOp::create(b, b.getI1Type(), 0).getResult());
    }
    scf::ConditionOp::create(b, overlaps.getResult(0), ValueRange{expert});
    Block *after = b.createBlock(&loop.getAfter(), {}, {indexType}, {b.getLoc()});
    expert = after->getArgument(0);
    // Empty segments inside the block's rows cost no k-loop.
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

  /// Where result row `row`'s A row comes from, for the expert of segment [begin, end).
  struct RowSource {
    Value valid;  // the row is in the segment and not padding: it has an input row
    Value source; // that input row (0 when not valid, never read then)
  };

  RowSource rowSource(Value row, Value begin, Value end) {
    Value inSegment = both(cmp(arith::CmpIPredicate::sge, row, begin),
                           cmp(arith::CmpIPredicate::slt, row, end));
    if (!config.rowsPerToken)
      return {inSegment, arith::SelectOp::create(b, inSegment, row, index(0))};
    // Rows past the result are never in a segment: the id load stays in bounds with the
    // row clamped.
    Value slot = arith::MinSIOp::create(b, row, sub(rows, index(1)));
    Value id = arith::IndexCastOp::create(b, b.getIndexType(),
                                          memref::LoadOp::create(b, sortedIds, slot));
    Value validIds = mul(dim(input, 0), index(*config.rowsPerToken));
    Value valid = both(inSegment, both(cmp(arith::CmpIPredicate::sge, id, index(0)),
                                       cmp(arith::CmpIPredicate::slt, id, validIds)));
    Value token = arith::DivUIOp::create(b, id, index(*config.rowsPerToken));
    return {valid, arith::SelectOp::create(b, valid, token, index(0))};
  }

  /// A fragment register as mma.sync takes it: bf16 pairs travel as i32.
  Value fragmentRegister(Value pair) {
    if (!config.elementType.isBF16())
      return pair;
    Value word = vector::BitCastOp::create(b, VectorType::get({1}, b.getI32Type()), pair);
    return vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0});
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

  /// One 16-byte cp.async per thread and slot: the slots of all threads cover a tile of
  /// `tileRows` rows of `chunksPerRow` chunks, thread t taking chunks t, t + threads, ...
  /// Every thread copies in every slot (the copies of a stage form one group per thread);
  /// slots past the tile write zeros into the rows that stagedRows() adds.
  struct CopySlot {
    Value row, chunk; // in the tile
    Value active;     // the slot is in the tile; null when all are
  };

  SmallVector<CopySlot> copySlots(int64_t tileRows, int64_t chunksPerRow) {
    SmallVector<CopySlot> slots;
    int64_t chunks = tileRows * chunksPerRow, threads = tiling.threads();
    for (int64_t first = 0; first < chunks; first += threads) {
      Value id = add(thread, index(first));
      CopySlot slot;
      slot.row = arith::DivUIOp::create(b, id, index(chunksPerRow));
      slot.chunk = arith::RemUIOp::create(b, id, index(chunksPerRow));
      if (first + threads > chunks)
        slot.active = cmp(arith::CmpIPredicate::ult, id, index(chunks));
      slots.push_back(slot);
    }
    return slots;
  }

  Value whereActive(const CopySlot &slot, Value condition) {
    return slot.active ? both(slot.active, condition) : condition;
  }

  /// A 16-byte copy of `kChunk` elements into shared memory, zero-filled unless `valid`
  /// (the source address, always in bounds, is then not read).
  Value copyChunk(Value from, ValueRange fromIndices, Value to, ValueRange toIndices,
                  Value valid) {
    Value elements = arith::SelectOp::create(b, valid, index(kChunk), index(0));
    return nvgpu::DeviceAsyncCopyOp::create(b, nvgpu::DeviceAsyncTokenType::get(b.getContext()),
                                            to, toIndices, from, fromIndices,
                                            b.getIndexAttr(kChunk), elements, b.getUnitAttr());
  }

  /// Issues the copies of k-block `kBlock` into its stage of the shared tiles and commits
  /// them as one group. A k-block past K (the pipeline's tail) copies zeros, so that every
  /// iteration commits one group and waits for the same count.
  Value stageKBlock(Value kBlock, Value expert, ArrayRef<CopySlot> inputSlots,
                    ArrayRef<RowSource> inputRows, ArrayRef<CopySlot> weightSlots) {
    Value stage = arith::RemUIOp::create(b, kBlock, index(tiling.stages));
    Value inK = cmp(arith::CmpIPredicate::ult, kBlock, index(config.K / tiling.kBlock));
    Value k = arith::SelectOp::create(b, inK, mul(kBlock, index(tiling.kBlock)), index(0));
    SmallVector<Value> copies;
    for (auto [slot, source] : llvm::zip_equal(inputSlots, inputRows)) {
      Value column = mul(slot.chunk, index(kChunk));
      copies.push_back(copyChunk(input, {source.source, add(k, column)}, stagedInput,
                                 {stage, slot.row, column},
                                 both(inK, whereActive(slot, source.valid))));
    }
    for (const CopySlot &slot : weightSlots) {
      Value column = mul(slot.chunk, index(kChunk));
      Value resultColumn = add(blockFirstColumn, column);
      // Columns past the result (in the last block) read nothing and stay zero.
      Value valid = whereActive(
          slot, both(inK, cmp(arith::CmpIPredicate::ult, resultColumn,
                              index(config.outColumns()))));
      Value weightColumn = arith::SelectOp::create(b, valid, resultColumn, index(0));
      Value kRow = arith::SelectOp::create(b, valid, add(k, slot.row), index(0));
      for (int64_t part = 0; part < parts(); ++part)
        copies.push_back(copyChunk(
            weights, {expert, kRow, add(weightColumn, index(part * config.outColumns()))},
            stagedWeights, {stage, index(part), slot.row, column}, valid));
    }
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), copies);
  }

  /// The mma of one k-block held in stage `stage`: each warp loads its A fragments with
  /// ldmatrix and its B fragments with ldmatrix.trans (the weights are k-major in shared
  /// memory, B's fragments want k pairs), then multiplies.
  SmallVector<Value> multiplyKBlock(Value stage, SmallVector<Value> accumulators) {
    Value laneRowInTile = arith::RemUIOp::create(b, lane, index(16));
    Value laneEighth = mul(arith::DivUIOp::create(b, lane, index(16)), index(8));
    auto registers = [&](Value matrices, int64_t count) {
      SmallVector<Value, 4> result;
      for (int64_t i = 0; i < count; ++i)
        result.push_back(fragmentRegister(
            vector::ExtractOp::create(b, matrices, ArrayRef<int64_t>{i})));
      return result;
    };
    auto ldmatrix = [&](Value memref, ValueRange indices, int64_t tiles, bool transpose) {
      return nvgpu::LdMatrixOp::create(
          b, VectorType::get({tiles, 2}, config.elementType), memref, indices,
          b.getBoolAttr(transpose), b.getI32IntegerAttr(static_cast<int32_t>(tiles)));
    };
    for (int64_t kStep = 0; kStep < tiling.kBlock; kStep += kTileK) {
      // Lane l addresses row l % 16 (and column block l / 16) of the 16 x 16 A tile.
      SmallVector<SmallVector<Value, 4>> aFragments;
      for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile) {
        Value row = add(warpRowOffset, add(laneRowInTile, index(mTile * kTileM)));
        Value column = add(laneEighth, index(kStep));
        aFragments.push_back(registers(ldmatrix(stagedInput, {stage, row, column}, 4, false), 4));
      }
      // Lane l addresses k row l % 16 of the B tiles of columns (nTile + l / 16) * 8: four
      // 8 x 8 matrices give two column tiles' fragments, an odd last tile takes two.
      for (int64_t part = 0; part < parts(); ++part)
        for (int64_t nTile = 0; nTile < tiling.nTiles; nTile += 2) {
          bool pairOfTiles = nTile + 1 < tiling.nTiles;
          Value kRow = add(laneRowInTile, index(kStep));
          Value column = add(warpColumnOffset, index(nTile * kTileN));
          if (pairOfTiles)
            column = add(column, laneEighth);
          SmallVector<Value, 4> bRegisters = registers(
              ldmatrix(stagedWeights, {stage, index(part), kRow, column}, pairOfTiles ? 4 : 2,
                       true),
              pairOfTiles ? 4 : 2);
          for (int64_t tile = 0; tile < (pairOfTiles ? 2 : 1); ++tile)
            for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile) {
              Value &accumulator = accumulators[accumulatorIndex(mTile, nTile + tile, part)];
              accumulator = mma(aFragments[mTile],
                                ArrayRef<Value>(bRegisters).slice(2 * tile, 2), accumulator);
            }
        }
    }
    return accumulators;
  }

  /// The k-loop of one expert over this block's tile, then its epilogue. `stages` k-blocks
  /// are in flight: while one is multiplied, the copies of the next ones proceed.
  void multiplyExpert(Value expert) {
    Value begin = segmentBegin(expert), end = segmentEnd(expert);
    SmallVector<CopySlot> inputSlots = copySlots(tiling.blockRows(), tiling.kBlock / kChunk);
    SmallVector<RowSource> inputRows;
    for (const CopySlot &slot : inputSlots)
      inputRows.push_back(rowSource(add(blockFirstRow, slot.row), begin, end));
    SmallVector<CopySlot> weightSlots =
        copySlots(tiling.kBlock, tiling.blockColumns() / kChunk);
    auto stageKBlockAt = [&](Value kBlock) {
      return stageKBlock(kBlock, expert, inputSlots, inputRows, weightSlots);
    };
    auto waitGroups = [&](Value token, int64_t pending) {
      nvgpu::DeviceAsyncWaitOp::create(b, token,
                                       b.getI32IntegerAttr(static_cast<int32_t>(pending)));
    };

    // The prologue fills all stages but one.
    Value lastGroup;
    for (int64_t kBlock = 0; kBlock + 1 < tiling.stages; ++kBlock)
      lastGroup = stageKBlockAt(index(kBlock));

    Value zero = arith::ConstantOp::create(
        b, DenseElementsAttr::get(accumulatorType, b.getZeroAttr(f32)));
    SmallVector<Value> initial(parts() * tiling.mTiles * tiling.nTiles, zero);
    initial.push_back(lastGroup);
    auto kLoop =
        scf::ForOp::create(b, index(0), index(config.K / tiling.kBlock), index(1), initial);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(kLoop.getBody());
      Value kBlock = kLoop.getInductionVar();
      // Of the stages - 1 groups committed since k-block `kBlock`'s, all but the newest
      // stages - 2 are complete: its own is. The barrier makes every thread's copies
      // visible, and tells that no warp still multiplies the stage refilled below (the
      // previous iteration's).
      waitGroups(kLoop.getRegionIterArgs().back(), tiling.stages - 2);
      gpu::BarrierOp::create(b);
      Value group = stageKBlockAt(add(kBlock, index(tiling.stages - 1)));
      SmallVector<Value> accumulators =
          multiplyKBlock(arith::RemUIOp::create(b, kBlock, index(tiling.stages)),
                         SmallVector<Value>(kLoop.getRegionIterArgs().drop_back()));
      accumulators.push_back(group);
      scf::YieldOp::create(b, accumulators);
    }
    // The tail's zero copies land before the next expert refills the stages, and no warp
    // still reads them.
    waitGroups(kLoop.getResults().back(), 0);
    gpu::BarrierOp::create(b);

    SmallVector<Value> laneValid; // [mTile][half]
    for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile)
      for (int64_t half = 0; half < 2; ++half)
        laneValid.push_back(rowSource(laneRow(mTile, half), begin, end).valid);
    storePairs(
        [&](Value row) {
          return both(cmp(arith::CmpIPredicate::sge, row, begin),
                      cmp(arith::CmpIPredicate::slt, row, end));
        },
        [&](int64_t mTile, int64_t half, int64_t nTile) {
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
            output = arith::SelectOp::create(b, laneValid[mTile * 2 + half], output,
                                             f32Constant(0.0));
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
  Value input, weights, offsets, sortedIds, bias, result, stagedInput, stagedWeights;
  Type f32;
  VectorType accumulatorType;
  Value rows, experts, thread, lane, group, pair;
  // The first result row and column of this block, and of this warp in the block and in
  // the result.
  Value blockFirstRow, blockFirstColumn, warpRowOffset, warpColumnOffset, firstRow, firstColumn;
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
  SmallVector<Type> sharedTiles = KernelSignature::sharedTiles(config);
  auto kernel = gpu::GPUFuncOp::create(
      rewriter, loc, name, rewriter.getFunctionType(signature.types(config), {}), sharedTiles);
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), rewriter.getUnitAttr());
  // cp.async writes, and ldmatrix reads, 16 bytes at a time.
  for (unsigned i = 0; i < sharedTiles.size(); ++i)
    kernel.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                       rewriter.getI64IntegerAttr(16));
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

  /// Rows per expert the tiling plans for: the option's, else derived from the shapes.
  int64_t rowsPerExpert(GroupedMatmulOp op) const {
    return expectedRowsPerExpert > 0 ? expectedRowsPerExpert : moec::expectedRowsPerExpert(op);
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
    config.tiling = chooseTiling(rowsPerExpert(op), config.outColumns(), K, gated ? 2 : 1);

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
