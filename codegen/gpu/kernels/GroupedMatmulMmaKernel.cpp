//===- GroupedMatmulMmaKernel.cpp - Expert GEMMs with mma.sync ------------===//
//
// The tensor-core kernel of moe.grouped_matmul from sm_80 on: one kernel per distinct
// configuration (element type, K, N, prologue, epilogue, tiling) in the gpu.module
// @moec_kernels, launched on buffers: tiles staged in shared memory by cp.async,
// fragments loaded by ldmatrix, mma.sync m16n8k16 with f32 accumulators. The fragment
// layouts are those of the PTX ISA's "Matrix Fragments for mma.m16n8k16 with floating
// point type"; docs/gpu-mma.md derives the ldmatrix addressing from them. For sm_90a,
// the kernels of GroupedMatmulWgmmaKernel.cpp (wgmma, TMA) take their place. No GPU has
// run these kernels yet.
//
//===----------------------------------------------------------------------===//

#include "GroupedMatmulKernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace moec::moe;
using namespace moec::grouped_matmul;

/// Rows of a shared-memory tile of `tileRows` rows of `chunksPerRow` 16-byte chunks when
/// `threads` threads each copy the same number of chunks: the copies past the tile land
/// in rows nothing reads. (`threads` is a multiple of 32 and `chunksPerRow` a power of
/// two up to 16, so the rows come out whole.)
static int64_t stagedRows(int64_t tileRows, int64_t chunksPerRow, int64_t threads) {
  return llvm::alignTo(tileRows * chunksPerRow, threads) / chunksPerRow;
}

// kMmaTileM, kMmaTileN, kMmaTileK come from GroupedMatmulKernels.h.
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

namespace {
/// How a kernel cuts the result: every warp computes `mTiles` x `nTiles` mma tiles
/// (16 x 8 each), a block holds `warpsM` x `warpsN` warps and steps through K by
/// `kBlock`, keeping `stages` k-blocks in flight in shared memory.
struct MmaTiling {
  int64_t warpsM, warpsN, mTiles, nTiles, kBlock, stages;

  int64_t warpRows() const { return mTiles * kMmaTileM; }
  int64_t warpColumns() const { return nTiles * kMmaTileN; }
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
static MmaTiling chooseTiling(int64_t rowsPerExpert, int64_t outColumns, int64_t K, int64_t parts) {
  int64_t kBlock = K % (2 * kMmaTileK) == 0 ? 2 * kMmaTileK : kMmaTileK;
  bool decode = rowsPerExpert <= kMmaTileM;
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
/// What a grouped matmul needs from its mma.sync kernel; equal configurations share one
/// kernel.
struct KernelConfig : MatmulConfig {
  MmaTiling tiling;

  /// The kernel's name, which spells out every field: kernels are found again by it.
  std::string name() const {
    std::string result;
    llvm::raw_string_ostream os(result);
    os << "grouped_matmul_mma_";
    printName(os);
    os << "_w" << tiling.warpsM << "x" << tiling.warpsN << "_t" << tiling.mTiles << "x"
       << tiling.nTiles << "_kb" << tiling.kBlock << "_s" << tiling.stages;
    return kernelSymbolName(result);
  }
};

/// The shared-memory tiles: [stage][row][k] of the input, [stage][part][k][column] of
/// the weights (part 1: the up half of a gated product).
SmallVector<Type> sharedTiles(const KernelConfig &config) {
  const MmaTiling &tiling = config.tiling;
  auto workgroup =
      gpu::AddressSpaceAttr::get(config.elementType.getContext(), gpu::AddressSpace::Workgroup);
  int64_t inputRows = stagedRows(tiling.blockRows(), tiling.kBlock / kChunk, tiling.threads());
  int64_t weightRows = stagedRows(tiling.kBlock, tiling.blockColumns() / kChunk, tiling.threads());
  return {MemRefType::get({tiling.stages, inputRows, tiling.kBlock + kRowPadding},
                          config.elementType, MemRefLayoutAttrInterface(), workgroup),
          MemRefType::get(
              {tiling.stages, config.parts(), weightRows, tiling.blockColumns() + kRowPadding},
              config.elementType, MemRefLayoutAttrInterface(), workgroup)};
}

/// The kernel's arguments: input, weights, then those every kernel ends with.
SmallVector<Type> argumentTypes(const KernelConfig &config) {
  ArgumentTypes types(config);
  return kernelArgumentTypes(config, {types.input, types.weights});
}

/// Emits the body of one kernel. Every lane of a warp holds the fragments the PTX ISA
/// assigns it: with `group = lane / 4` and `pair = 2 * (lane % 4)`,
/// - A (16 x 16, row-major): rows group and group + 8, columns pair, pair + 1 and
///   pair + 8, pair + 9, as four registers of two elements;
/// - B (16 x 8, "col" = k-major pairs): column group, rows pair, pair + 1 (first
///   register) and pair + 8, pair + 9 (second);
/// - C/D (16 x 8 f32): rows group (c0, c1) and group + 8 (c2, c3), columns pair, pair + 1.
class MmaKernelEmitter : KernelEmitter {
public:
  MmaKernelEmitter(ImplicitLocOpBuilder &b, const KernelConfig &config, gpu::GPUFuncOp kernel)
      : KernelEmitter(b, config), config(config), tiling(config.tiling) {
    ValueRange arguments = kernel.getArguments();
    input = arguments[0];
    weights = arguments[1];
    unpackArguments(arguments.drop_front(2));
    stagedInput = kernel.getWorkgroupAttributions()[0];
    stagedWeights = kernel.getWorkgroupAttributions()[1];
    accumulatorType = VectorType::get({4}, f32);
  }

  void emit() {
    thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    lane = arith::RemUIOp::create(b, thread, index(kWarpSize));
    Value warp = arith::DivUIOp::create(b, thread, index(kWarpSize));
    group = arith::DivUIOp::create(b, lane, index(4));
    pair = mul(arith::RemUIOp::create(b, lane, index(4)), index(2));
    warpRowOffset =
        mul(arith::DivUIOp::create(b, warp, index(tiling.warpsN)), index(tiling.warpRows()));
    warpColumnOffset =
        mul(arith::RemUIOp::create(b, warp, index(tiling.warpsN)), index(tiling.warpColumns()));
    blockFirstRow = mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), index(tiling.blockRows()));
    blockFirstColumn =
        mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), index(tiling.blockColumns()));
    firstRow = add(blockFirstRow, warpRowOffset);
    firstColumn = add(blockFirstColumn, warpColumnOffset);

    zeroRowsOutsideSegments();
    forEachExpertOverlappingBlock(blockFirstRow, tiling.blockRows(), /*initial=*/{},
                                  [&](Value expert, ValueRange) {
                                    multiplyExpert(expert);
                                    return SmallVector<Value>();
                                  });
    gpu::ReturnOp::create(b);
  }

private:
  /// A pair starts at an even column of a row of an even number of 16-bit elements, so it
  /// is one aligned 32-bit access.
  llvm::Align pairAlignment() const {
    return llvm::Align(2 * config.elementType.getIntOrFloatBitWidth() / 8);
  }

  /// The result row of half `half` (0: rows group, 1: group + 8) of row tile `mTile`.
  Value laneRow(int64_t mTile, int64_t half) {
    return add(firstRow, add(group, index(mTile * kMmaTileM + half * 8)));
  }
  /// The first of the two result columns this lane holds in column tile `nTile`.
  Value laneColumn(int64_t nTile) { return add(firstColumn, add(pair, index(nTile * kMmaTileN))); }

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
    Value zeros = arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({2}, config.elementType),
                                  b.getZeroAttr(config.elementType)));
    storePairs(rowOutsideSegments(), [&](int64_t, int64_t, int64_t) { return zeros; });
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

  Value mma(ArrayRef<Value> a, ArrayRef<Value> bFragment, Value accumulator) {
    SmallVector<Value, 4> c;
    for (int64_t i = 0; i < 4; ++i)
      c.push_back(vector::ExtractOp::create(b, accumulator, ArrayRef<int64_t>{i}));
    NVVM::MMATypes ptxType =
        config.elementType.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
    auto resultType = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    Value d = NVVM::MmaOp::create(
        b, resultType, a, bFragment, c, ArrayRef<int64_t>{kMmaTileM, kMmaTileN, kMmaTileK},
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
  Value copyChunk(Value from, ValueRange fromIndices, Value to, ValueRange toIndices, Value valid) {
    Value elements = arith::SelectOp::create(b, valid, index(kChunk), index(0));
    return nvgpu::DeviceAsyncCopyOp::create(b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), to,
                                            toIndices, from, fromIndices, b.getIndexAttr(kChunk),
                                            elements, b.getUnitAttr());
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
      Value valid = whereActive(slot, both(inK, cmp(arith::CmpIPredicate::ult, resultColumn,
                                                    index(config.outColumns()))));
      Value weightColumn = arith::SelectOp::create(b, valid, resultColumn, index(0));
      Value kRow = arith::SelectOp::create(b, valid, add(k, slot.row), index(0));
      for (int64_t part = 0; part < config.parts(); ++part)
        copies.push_back(
            copyChunk(weights, {expert, kRow, add(weightColumn, index(part * config.outColumns()))},
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
        result.push_back(
            fragmentRegister(vector::ExtractOp::create(b, matrices, ArrayRef<int64_t>{i})));
      return result;
    };
    auto ldmatrix = [&](Value memref, ValueRange indices, int64_t tiles, bool transpose) {
      return nvgpu::LdMatrixOp::create(b, VectorType::get({tiles, 2}, config.elementType), memref,
                                       indices, b.getBoolAttr(transpose),
                                       b.getI32IntegerAttr(static_cast<int32_t>(tiles)));
    };
    for (int64_t kStep = 0; kStep < tiling.kBlock; kStep += kMmaTileK) {
      // Lane l addresses row l % 16 (and column block l / 16) of the 16 x 16 A tile.
      SmallVector<SmallVector<Value, 4>> aFragments;
      for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile) {
        Value row = add(warpRowOffset, add(laneRowInTile, index(mTile * kMmaTileM)));
        Value column = add(laneEighth, index(kStep));
        aFragments.push_back(registers(ldmatrix(stagedInput, {stage, row, column}, 4, false), 4));
      }
      // Lane l addresses k row l % 16 of the B tiles of columns (nTile + l / 16) * 8: four
      // 8 x 8 matrices give two column tiles' fragments, an odd last tile takes two.
      for (int64_t part = 0; part < config.parts(); ++part)
        for (int64_t nTile = 0; nTile < tiling.nTiles; nTile += 2) {
          bool pairOfTiles = nTile + 1 < tiling.nTiles;
          Value kRow = add(laneRowInTile, index(kStep));
          Value column = add(warpColumnOffset, index(nTile * kMmaTileN));
          if (pairOfTiles)
            column = add(column, laneEighth);
          SmallVector<Value, 4> bRegisters =
              registers(ldmatrix(stagedWeights, {stage, index(part), kRow, column},
                                 pairOfTiles ? 4 : 2, true),
                        pairOfTiles ? 4 : 2);
          for (int64_t tile = 0; tile < (pairOfTiles ? 2 : 1); ++tile)
            for (int64_t mTile = 0; mTile < tiling.mTiles; ++mTile) {
              Value &accumulator = accumulators[accumulatorIndex(mTile, nTile + tile, part)];
              accumulator = mma(aFragments[mTile], ArrayRef<Value>(bRegisters).slice(2 * tile, 2),
                                accumulator);
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
    SmallVector<CopySlot> weightSlots = copySlots(tiling.kBlock, tiling.blockColumns() / kChunk);
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

    Value zero =
        arith::ConstantOp::create(b, DenseElementsAttr::get(accumulatorType, b.getZeroAttr(f32)));
    SmallVector<Value> initial(config.parts() * tiling.mTiles * tiling.nTiles, zero);
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
          for (int64_t element = 0; element < 2; ++element)
            outputs.push_back(epilogue(
                expert, add(laneColumn(nTile), index(element)), laneValid[mTile * 2 + half],
                [&](int64_t part) {
                  Value accumulator = kLoop.getResult(accumulatorIndex(mTile, nTile, part));
                  return vector::ExtractOp::create(b, accumulator,
                                                   ArrayRef<int64_t>{half * 2 + element})
                      .getResult();
                }));
          return vector::FromElementsOp::create(b, VectorType::get({2}, config.elementType),
                                                outputs);
        });
  }

  const KernelConfig &config;
  const MmaTiling &tiling;
  Value weights, stagedInput, stagedWeights;
  VectorType accumulatorType;
  Value thread, lane, group, pair;
  // The first result row and column of this block, and of this warp in the block and in
  // the result.
  Value blockFirstRow, blockFirstColumn, warpRowOffset, warpColumnOffset, firstRow, firstColumn;
};

/// The kernel for `config` in `kernels`, emitted the first time it is asked for.
gpu::GPUFuncOp getOrCreateMmaKernel(OpBuilder &builder, gpu::GPUModuleOp kernels,
                                    const KernelConfig &config, Location loc) {
  SmallVector<Type> tiles = sharedTiles(config);
  return getOrCreateKernel(
      builder, kernels, config.name(), argumentTypes(config), tiles, config.tiling.threads(), loc,
      [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel) {
        // cp.async writes, and ldmatrix reads, 16 bytes at a time.
        for (unsigned i = 0; i < tiles.size(); ++i)
          kernel.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                             b.getI64IntegerAttr(16));
        MmaKernelEmitter(b, config, kernel).emit();
      });
}
} // namespace

Value moec::grouped_matmul::lowerToMma(ImplicitLocOpBuilder &b, gpu::GPUModuleOp kernels,
                                       GroupedMatmulOp op, const MatmulConfig &matmul,
                                       int64_t rowsPerExpert) {
  KernelConfig config{matmul,
                      chooseTiling(rowsPerExpert, matmul.outColumns(), matmul.K, matmul.parts())};
  gpu::GPUFuncOp kernel = getOrCreateMmaKernel(b, kernels, config, op.getLoc());
  ArgumentTypes types(config);
  SmallVector<Value> arguments{toKernelBuffer(b, op.getInput(), types.input),
                               toKernelBuffer(b, op.getWeights(), types.weights)};
  const MmaTiling &tiling = config.tiling;
  return launchOnRows(b, op, kernel, arguments, types, config.outColumns(), tiling.blockRows(),
                      tiling.blockColumns(), tiling.threads(),
                      /*dynamicSharedBytes=*/0);
}
