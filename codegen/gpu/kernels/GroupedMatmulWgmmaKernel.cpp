//===- GroupedMatmulWgmmaKernel.cpp - Expert GEMMs with wgmma on sm_90a ---===//
//
// The Hopper (sm_90a) kernel of moe.grouped_matmul: one warpgroup per block multiplies
// with `wgmma.mma_async` from shared memory, which TMA fills (`cp.async.bulk.tensor`)
// through a pipeline of stages, each guarded by an mbarrier that counts the bytes its
// loads deliver. TMA cannot gather rows, so an op with sorted_ids first gathers its rows
// into a contiguous buffer (a linalg.generic that the GPU pipeline maps like any other);
// the kernel then reads the input and the weights by TMA alike. No GPU has run these
// kernels yet (docs/gpu-mma.md).
//
//===----------------------------------------------------------------------===//

#include "GroupedMatmulKernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace moec::moe;
using namespace moec::grouped_matmul;

/// K per stage: a 128-byte row of 16-bit elements, the widest the 128-byte swizzle that
/// wgmma reads without bank conflicts allows for one TMA box row.
static constexpr int64_t kKBlock = 64;
/// Weight columns per TMA box, for the same reason.
static constexpr int64_t kBoxColumns = 64;
static constexpr int64_t kElementBytes = 2;
/// One warpgroup: four warps issue each wgmma together.
static constexpr int64_t kWarpgroupThreads = 128;
/// The shared memory one block may opt in to on sm_90 (227 KiB).
static constexpr int64_t kMaxSharedBytes = 227 * 1024;
static constexpr int64_t kMaxStages = 4;
/// The alignment of a tile in shared memory that the 128-byte swizzle needs (TMA writes,
/// wgmma reads the pattern from address bits 7-9).
static constexpr int64_t kSwizzleAlignment = 1024;
/// Cycles one mbarrier try_wait may suspend before it tries again.
static constexpr int64_t kWaitTicks = 10000000;

/// A tensor map's address as the descriptor the NVGPU ops take, or back: the NVGPU
/// lowering turns the descriptor into that address, and the two casts then cancel.
static Value castTensorMap(OpBuilder &b, Location loc, Value value, Type type) {
  return UnrealizedConversionCastOp::create(b, loc, type, value).getResult(0);
}

namespace {
/// A block of `blockRows` x `blockColumns` result elements (of each projection half when
/// gated), `stages` k-blocks in flight.
struct WgmmaTiling {
  int64_t blockRows, blockColumns, stages;
};

struct WgmmaConfig : MatmulConfig {
  WgmmaTiling tiling;

  /// K in k-blocks; the last one may be partial (TMA reads zeros past K).
  int64_t kBlocks() const { return llvm::divideCeil(K, kKBlock); }
  int64_t inputTileBytes() const { return tiling.blockRows * kKBlock * kElementBytes; }
  int64_t weightBoxBytes() const { return kKBlock * kBoxColumns * kElementBytes; }
  int64_t weightTileBytes() const { return kKBlock * tiling.blockColumns * kElementBytes; }
  /// What the TMA loads of one stage deliver, and its size in shared memory: the input
  /// tile, then the weight tile of each part. Every tile starts at a multiple of 1024
  /// bytes, as the 128-byte swizzle needs. A weight tile is its 64-column boxes one after
  /// the other, 8 KiB apart: the leading byte offset that the NVGPU lowering gives a
  /// transposed B descriptor (the box's 64 rows of 128 bytes).
  int64_t stageBytes() const { return inputTileBytes() + parts() * weightTileBytes(); }
  int64_t accumulatorBytes() const { return tiling.blockRows * tiling.blockColumns * 4; }
  /// The stages, then the f32 accumulators of each part, which the epilogue reads, from
  /// the first 1024-byte boundary of dynamic shared memory: LLVM 22 aligns its base to
  /// 16 bytes only, after the static shared memory (the mbarriers).
  int64_t sharedBytes() const {
    return kSwizzleAlignment + tiling.stages * stageBytes() + parts() * accumulatorBytes();
  }

  std::string name() const {
    std::string result;
    llvm::raw_string_ostream os(result);
    os << "grouped_matmul_wgmma_";
    printName(os);
    os << "_b" << tiling.blockRows << "x" << tiling.blockColumns << "_s" << tiling.stages;
    return kernelSymbolName(result);
  }

  MLIRContext *context() const { return elementType.getContext(); }
  Attribute workgroup() const {
    return gpu::AddressSpaceAttr::get(context(), gpu::AddressSpace::Workgroup);
  }
  MemRefType sharedTile(ArrayRef<int64_t> shape, Type type) const {
    return MemRefType::get(shape, type, MemRefLayoutAttrInterface(), workgroup());
  }
  MemRefType inputTile() const { return sharedTile({tiling.blockRows, kKBlock}, elementType); }
  /// A box of the weights as TMA loads it from [E, K, N] (one expert's 64 k x 64 columns;
  /// k past K reads zeros), and the same bytes as wgmma's descriptors see them.
  MemRefType weightLoadBox() const { return sharedTile({1, kKBlock, kBoxColumns}, elementType); }
  MemRefType weightBox() const { return sharedTile({kKBlock, kBoxColumns}, elementType); }
  MemRefType weightTile() const { return sharedTile({kKBlock, tiling.blockColumns}, elementType); }
  MemRefType accumulatorTile() const {
    return sharedTile({tiling.blockRows, tiling.blockColumns}, Float32Type::get(context()));
  }
  nvgpu::TensorMapDescriptorType tensorMap(MemRefType box) const {
    return nvgpu::TensorMapDescriptorType::get(
        context(), box, nvgpu::TensorMapSwizzleKind::SWIZZLE_128B,
        nvgpu::TensorMapL2PromoKind::L2PROMO_NONE, nvgpu::TensorMapOOBKind::OOB_ZERO,
        nvgpu::TensorMapInterleaveKind::INTERLEAVE_NONE);
  }
  nvgpu::TensorMapDescriptorType inputMap() const { return tensorMap(inputTile()); }
  nvgpu::TensorMapDescriptorType weightMap() const { return tensorMap(weightLoadBox()); }
  /// The weight map's address as nvgpu.warpgroup.generate.descriptor wants it: the
  /// lowering reads only the type, whose first dimension gives B's leading byte offset
  /// (64 rows of 128 bytes; the 3-d type's would say 1).
  nvgpu::TensorMapDescriptorType weightLayoutMap() const { return tensorMap(weightBox()); }
  nvgpu::WarpgroupAccumulatorType accumulator() const {
    return nvgpu::WarpgroupAccumulatorType::get(
        context(),
        VectorType::get({tiling.blockRows, tiling.blockColumns}, Float32Type::get(context())));
  }

  /// The kernel's arguments: the tensor maps of the input rows (gathered when there are
  /// sorted_ids) and of the weights, those two buffers (the kernel reads them only
  /// through the maps, but a launch that names them keeps them alive until it), the input
  /// when gathered (its row count tells padding ids), then those every kernel ends with.
  /// The tensor maps travel as what they lower to, the device address of a CUtensorMap:
  /// convert-gpu-to-nvvm has no conversion of the !nvgpu.tensormap.descriptor type for a
  /// kernel's signature in LLVM 22.
  SmallVector<Type> argumentTypes() const {
    ArgumentTypes types(*this);
    Type address = LLVM::LLVMPointerType::get(context());
    SmallVector<Type> own{address, address, types.input, types.weights};
    if (rowsPerToken)
      own.push_back(types.input);
    return kernelArgumentTypes(*this, own);
  }
};

/// The tiling for experts of about `rowsPerExpert` rows: 128 x 128 result blocks, 64
/// rows for few rows per expert and for gated products (whose two f32 accumulators of
/// 64 x 128 take as many registers, 128 a thread, as one of 128 x 128), 64 columns for
/// narrow results; as many stages as fit beside the accumulators, at most four.
WgmmaTiling chooseWgmmaTiling(const MatmulConfig &config, int64_t rowsPerExpert) {
  WgmmaConfig sized{config, {}};
  sized.tiling.blockRows = rowsPerExpert <= 64 || config.gated ? 64 : 128;
  sized.tiling.blockColumns = config.outColumns() >= 128 ? 128 : 64;
  // Without stages: the alignment padding and the accumulators. (The mbarriers' static
  // shared memory, 8 bytes a stage, fits in what the division leaves over.)
  sized.tiling.stages = 0;
  int64_t available = kMaxSharedBytes - sized.sharedBytes();
  // The largest stage (gated: 40 KiB) fits four times beside the accumulators.
  sized.tiling.stages = std::min(kMaxStages, available / sized.stageBytes());
  return sized.tiling;
}

/// Emits the body of one wgmma kernel.
class WgmmaKernelEmitter : KernelEmitter {
public:
  WgmmaKernelEmitter(ImplicitLocOpBuilder &b, const WgmmaConfig &config, gpu::GPUFuncOp kernel)
      : KernelEmitter(b, config), config(config), tiling(config.tiling) {
    ValueRange arguments = kernel.getArguments();
    unsigned arg = 0;
    inputMap = asTensorMap(arguments[arg++], config.inputMap());
    weightMap = asTensorMap(arguments[arg], config.weightMap());
    weightLayoutMap = asTensorMap(arguments[arg++], config.weightLayoutMap());
    arg += 2; // the buffers behind the maps
    if (config.rowsPerToken)
      input = arguments[arg++];
    unpackArguments(arguments.drop_front(arg));
  }

  void emit() {
    thread = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
    leader = cmp(arith::CmpIPredicate::eq, thread, index(0));
    blockFirstRow = mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), index(tiling.blockRows));
    blockFirstColumn =
        mul(gpu::BlockIdOp::create(b, gpu::Dimension::y), index(tiling.blockColumns));
    shared = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), MemRefLayoutAttrInterface(),
                           config.workgroup()));
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, shared);
    sharedPadding = arith::RemUIOp::create(
        b, sub(index(kSwizzleAlignment), arith::RemUIOp::create(b, base, index(kSwizzleAlignment))),
        index(kSwizzleAlignment));
    barriers = nvgpu::MBarrierCreateOp::create(
        b, nvgpu::MBarrierGroupType::get(b.getContext(), config.workgroup(), tiling.stages));
    // One arrival (the leader's expect_tx) and the bytes of the stage complete a phase.
    for (int64_t stage = 0; stage < tiling.stages; ++stage)
      nvgpu::MBarrierInitOp::create(b, barriers, index(1), index(stage), leader);
    // The initialized barriers are visible to the TMA unit (the async proxy), and to every
    // thread, before the first load and wait.
    NVVM::FenceMbarrierInitOp::create(b);
    gpu::BarrierOp::create(b);

    zeroRowsOutsideSegments();
    // The k-blocks loaded so far: load t goes to stage t % stages and completes phase
    // t / stages of its barrier.
    forEachExpertOverlappingBlock(blockFirstRow, tiling.blockRows, ValueRange{index(0)},
                                  [&](Value expert, ValueRange loaded) {
                                    multiplyExpert(expert, loaded.front());
                                    return SmallVector<Value>{
                                        add(loaded.front(), index(config.kBlocks()))};
                                  });
    gpu::ReturnOp::create(b);
  }

private:
  Value asTensorMap(Value address, nvgpu::TensorMapDescriptorType type) {
    return castTensorMap(b, b.getLoc(), address, type);
  }

  /// Calls `body` with every element of the block's result tile that this thread
  /// handles: element i of the tile (row-major) goes to thread i % 128, so that
  /// neighbouring threads touch neighbouring columns.
  void forEachTileElement(function_ref<void(Value tileRow, Value tileColumn)> body) {
    auto loop = scf::ForOp::create(b, thread, index(tiling.blockRows * tiling.blockColumns),
                                   index(kWarpgroupThreads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value element = loop.getInductionVar();
    body(arith::DivUIOp::create(b, element, index(tiling.blockColumns)),
         arith::RemUIOp::create(b, element, index(tiling.blockColumns)));
  }

  /// Stores `value(row, column, tileRow, tileColumn)` to every result element of the
  /// block where `rowStored(row)` holds and the column exists.
  void
  storeTile(function_ref<Value(Value row)> rowStored,
            function_ref<Value(Value row, Value column, Value tileRow, Value tileColumn)> value) {
    forEachTileElement([&](Value tileRow, Value tileColumn) {
      Value row = add(blockFirstRow, tileRow);
      Value column = add(blockFirstColumn, tileColumn);
      Value stored =
          both(rowStored(row), cmp(arith::CmpIPredicate::ult, column, index(config.outColumns())));
      auto ifStored = scf::IfOp::create(b, stored, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifStored.thenBlock());
      memref::StoreOp::create(b, value(row, column, tileRow, tileColumn), result,
                              ValueRange{row, column});
    });
  }

  /// Rows before the first segment or after the last one are zero.
  void zeroRowsOutsideSegments() {
    Value zero = arith::ConstantOp::create(b, b.getZeroAttr(config.elementType));
    storeTile(rowOutsideSegments(), [&](Value, Value, Value, Value) { return zero; });
  }

  /// Dynamic shared memory from `offset` (past the alignment padding) as `type`.
  Value sharedView(Value offset, MemRefType type) {
    return memref::ViewOp::create(b, type, shared, add(sharedPadding, offset), ValueRange{});
  }
  Value stageOffset(Value stage) { return mul(stage, index(config.stageBytes())); }
  Value weightOffset(Value stage, int64_t part) {
    return add(stageOffset(stage),
               index(config.inputTileBytes() + part * config.weightTileBytes()));
  }

  /// The leader's loads of k-block `kBlock` of `expert` into stage `stage`: the block's
  /// input rows and, of every part, the block's columns of `expert`'s weights as boxes of
  /// 64 columns. TMA reads zeros past the input's rows, past K (in both operands: the
  /// products of a last, partial k-block are exact) and past N. Boxes past the gate half
  /// read up columns; those, and the columns past N, are computed but not stored.
  void loadKBlock(Value stage, Value kBlock, Value expert) {
    auto ifLeader = scf::IfOp::create(b, leader, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifLeader.thenBlock());
    nvgpu::MBarrierArriveExpectTxOp::create(b, barriers, index(config.stageBytes()), stage,
                                            /*predicate=*/Value());
    Value k = mul(kBlock, index(kKBlock));
    nvgpu::TmaAsyncLoadOp::create(b, sharedView(stageOffset(stage), config.inputTile()), barriers,
                                  inputMap, ValueRange{k, blockFirstRow}, stage,
                                  /*multicastMask=*/Value(), /*predicate=*/Value());
    for (int64_t part = 0; part < config.parts(); ++part)
      for (int64_t box = 0; box < tiling.blockColumns / kBoxColumns; ++box) {
        Value column = add(blockFirstColumn, index(part * config.outColumns() + box * kBoxColumns));
        Value to = sharedView(add(weightOffset(stage, part), index(box * config.weightBoxBytes())),
                              config.weightLoadBox());
        nvgpu::TmaAsyncLoadOp::create(b, to, barriers, weightMap, ValueRange{column, k, expert},
                                      stage, /*multicastMask=*/Value(), /*predicate=*/Value());
      }
  }

  /// The k-loop of one expert over the block's tile, then its epilogue. `loaded` k-blocks
  /// went through the stages before (for earlier experts).
  void multiplyExpert(Value expert, Value loaded) {
    int64_t kBlocks = config.kBlocks();
    auto stageOf = [&](Value load) {
      return arith::RemUIOp::create(b, load, index(tiling.stages));
    };
    for (int64_t kBlock = 0; kBlock < std::min(tiling.stages, kBlocks); ++kBlock)
      loadKBlock(stageOf(add(loaded, index(kBlock))), index(kBlock), expert);

    SmallVector<Value> initial;
    for (int64_t part = 0; part < config.parts(); ++part)
      initial.push_back(nvgpu::WarpgroupMmaInitAccumulatorOp::create(b, config.accumulator()));
    auto kLoop = scf::ForOp::create(b, index(0), index(kBlocks), index(1), initial);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(kLoop.getBody());
      Value kBlock = kLoop.getInductionVar();
      Value load = add(loaded, kBlock);
      Value stage = stageOf(load);
      Value phase = arith::RemUIOp::create(b, arith::DivUIOp::create(b, load, index(tiling.stages)),
                                           index(2));
      nvgpu::MBarrierTryWaitParityOp::create(
          b, barriers, cmp(arith::CmpIPredicate::ne, phase, index(0)), index(kWaitTicks), stage);
      auto descriptor = [&](Value offset, MemRefType tile, Value map) -> Value {
        return nvgpu::WarpgroupGenerateDescriptorOp::create(
            b, nvgpu::WarpgroupMatrixDescriptorType::get(b.getContext(), tile),
            sharedView(offset, tile), map);
      };
      Value inputDescriptor = descriptor(stageOffset(stage), config.inputTile(), inputMap);
      SmallVector<Value> accumulators;
      for (int64_t part = 0; part < config.parts(); ++part) {
        Value weightDescriptor =
            descriptor(weightOffset(stage, part), config.weightTile(), weightLayoutMap);
        // The weights are [k][n] in shared memory: B transposed from wgmma's k-major.
        accumulators.push_back(nvgpu::WarpgroupMmaOp::create(
            b, config.accumulator(), inputDescriptor, weightDescriptor,
            /*waitGroup=*/IntegerAttr(), /*transposeA=*/UnitAttr(),
            /*transposeB=*/b.getUnitAttr(), kLoop.getRegionIterArgs()[part]));
      }
      // The stage is refilled only once every warp's wgmma has read it.
      NVVM::WgmmaWaitGroupSyncOp::create(b, b.getI64IntegerAttr(0));
      gpu::BarrierOp::create(b);
      Value next = add(kBlock, index(tiling.stages));
      auto ifNext = scf::IfOp::create(b, cmp(arith::CmpIPredicate::slt, next, index(kBlocks)),
                                      /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(ifNext.thenBlock());
        loadKBlock(stage, next, expert);
      }
      scf::YieldOp::create(b, accumulators);
    }

    SmallVector<Value> accumulatorTiles;
    for (int64_t part = 0; part < config.parts(); ++part) {
      Value offset = index(tiling.stages * config.stageBytes() + part * config.accumulatorBytes());
      accumulatorTiles.push_back(sharedView(offset, config.accumulatorTile()));
      nvgpu::WarpgroupMmaStoreOp::create(b, kLoop.getResult(part), accumulatorTiles.back());
    }
    gpu::BarrierOp::create(b);

    Value begin = segmentBegin(expert), end = segmentEnd(expert);
    storeTile(
        [&](Value row) {
          return both(cmp(arith::CmpIPredicate::sge, row, begin),
                      cmp(arith::CmpIPredicate::slt, row, end));
        },
        [&](Value row, Value column, Value tileRow, Value tileColumn) {
          return epilogue(expert, column, rowSource(row, begin, end).valid, [&](int64_t part) {
            return memref::LoadOp::create(b, accumulatorTiles[part],
                                          ValueRange{tileRow, tileColumn})
                .getResult();
          });
        });
  }

  const WgmmaConfig &config;
  const WgmmaTiling &tiling;
  Value inputMap, weightMap, weightLayoutMap, shared, sharedPadding, barriers;
  Value thread, leader, blockFirstRow, blockFirstColumn;
};

/// The kernel for `config` in `kernels`, emitted the first time it is asked for.
gpu::GPUFuncOp getOrCreateWgmmaKernel(OpBuilder &builder, gpu::GPUModuleOp kernels,
                                      const WgmmaConfig &config, Location loc) {
  return getOrCreateKernel(builder, kernels, config.name(), config.argumentTypes(),
                           /*workgroupBuffers=*/{}, kWarpgroupThreads, loc,
                           [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel) {
                             WgmmaKernelEmitter(b, config, kernel).emit();
                           });
}

/// The input rows of `op` in slot order: row p is input row sorted_ids[p] /
/// rows_per_token, or zeros for a padding id, as the kernels read them.
Value gatherRows(ImplicitLocOpBuilder &b, GroupedMatmulOp op, int64_t rowsPerToken) {
  Value input = op.getInput(), sortedIds = op.getSortedIds();
  auto inputType = cast<RankedTensorType>(input.getType());
  auto idsType = cast<RankedTensorType>(sortedIds.getType());
  auto gatheredType = RankedTensorType::get({idsType.getDimSize(0), inputType.getDimSize(1)},
                                            inputType.getElementType());
  SmallVector<Value> dynamicSizes;
  if (gatheredType.isDynamicDim(0))
    dynamicSizes.push_back(tensor::DimOp::create(b, sortedIds, 0));
  Value empty = tensor::EmptyOp::create(b, gatheredType, dynamicSizes);
  Value validIds = arith::MulIOp::create(b, tensor::DimOp::create(b, input, 0),
                                         arith::ConstantIndexOp::create(b, rowsPerToken));
  MLIRContext *context = b.getContext();
  SmallVector<AffineMap> maps{AffineMap::get(2, 0, {getAffineDimExpr(0, context)}, context),
                              AffineMap::getMultiDimIdentityMap(2, context)};
  auto gather = linalg::GenericOp::create(
      b, TypeRange{gatheredType}, ValueRange{sortedIds}, ValueRange{empty}, maps,
      SmallVector<utils::IteratorType>(2, utils::IteratorType::parallel),
      [&](OpBuilder &nested, Location loc, ValueRange arguments) {
        ImplicitLocOpBuilder body(loc, nested);
        Value id = arith::IndexCastOp::create(body, body.getIndexType(), arguments[0]);
        Value zero = arith::ConstantIndexOp::create(body, 0);
        Value valid = arith::AndIOp::create(
            body, arith::CmpIOp::create(body, arith::CmpIPredicate::sge, id, zero),
            arith::CmpIOp::create(body, arith::CmpIPredicate::slt, id, validIds));
        Value token = arith::SelectOp::create(
            body, valid,
            arith::DivUIOp::create(body, id, arith::ConstantIndexOp::create(body, rowsPerToken)),
            zero);
        Value k = linalg::IndexOp::create(body, 1);
        Value element = tensor::ExtractOp::create(body, input, ValueRange{token, k});
        Value padding =
            arith::ConstantOp::create(body, body.getZeroAttr(inputType.getElementType()));
        linalg::YieldOp::create(body,
                                ValueRange{arith::SelectOp::create(body, valid, element, padding)});
      });
  return gather.getResult(0);
}

/// The address of a TMA tensor map over `memref` (made unranked, as the op takes it)
/// with boxes of `box` elements.
Value createTensorMap(ImplicitLocOpBuilder &b, Value memref, ArrayRef<int64_t> box,
                      nvgpu::TensorMapDescriptorType type) {
  auto memrefType = cast<MemRefType>(memref.getType());
  Value unranked = memref::CastOp::create(
      b, UnrankedMemRefType::get(memrefType.getElementType(), memrefType.getMemorySpace()), memref);
  SmallVector<Value> boxSizes;
  for (int64_t size : box)
    boxSizes.push_back(arith::ConstantIndexOp::create(b, size));
  Value map = nvgpu::TmaCreateDescriptorOp::create(b, type, unranked, boxSizes);
  return castTensorMap(b, b.getLoc(), map, LLVM::LLVMPointerType::get(b.getContext()));
}
} // namespace

Value moec::grouped_matmul::lowerToWgmma(ImplicitLocOpBuilder &b, gpu::GPUModuleOp kernels,
                                         GroupedMatmulOp op, const MatmulConfig &matmul,
                                         int64_t rowsPerExpert) {
  WgmmaConfig config{matmul, chooseWgmmaTiling(matmul, rowsPerExpert)};
  gpu::GPUFuncOp kernel = getOrCreateWgmmaKernel(b, kernels, config, op.getLoc());
  ArgumentTypes types(config);

  Value rowsRead = config.rowsPerToken ? gatherRows(b, op, *config.rowsPerToken) : op.getInput();
  auto rowsType = cast<RankedTensorType>(rowsRead.getType());
  Value rowsBuffer = bufferization::ToBufferOp::create(
      b, MemRefType::get(rowsType.getShape(), rowsType.getElementType()), rowsRead,
      /*read_only=*/true);
  auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
  Value weights = bufferization::ToBufferOp::create(
      b, MemRefType::get(weightsType.getShape(), weightsType.getElementType()), op.getWeights(),
      /*read_only=*/true);

  SmallVector<Value> arguments{
      createTensorMap(b, rowsBuffer, {config.tiling.blockRows, kKBlock}, config.inputMap()),
      createTensorMap(b, weights, {1, kKBlock, kBoxColumns}, config.weightMap()),
      b.createOrFold<memref::CastOp>(types.input, rowsBuffer),
      b.createOrFold<memref::CastOp>(types.weights, weights)};
  if (config.rowsPerToken)
    arguments.push_back(toKernelBuffer(b, op.getInput(), types.input));
  return launchOnRows(b, op, kernel, arguments, types, config.outColumns(), config.tiling.blockRows,
                      config.tiling.blockColumns, kWarpgroupThreads, config.sharedBytes());
}
