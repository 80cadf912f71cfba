//===- GroupedMatmulKernels.h - What the grouped-matmul kernels share -*- C++ -*-===//
//
// The configuration and the device code that every GPU kernel of moe.grouped_matmul
// shares (the mma.sync kernels of GroupedMatmulMmaKernel.cpp, the sm_90a wgmma kernels
// of GroupedMatmulWgmmaKernel.cpp): segments, the gather's row sources, the expert walk
// of a block of rows and the epilogue, with the host kernel's semantics
// (lib/runtime/cpu/MoEGroupedMatmul.cpp); and the entry points of the two kernels, which
// LowerGroupedMatmulToMMA.cpp calls.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_GROUPEDMATMULKERNELS_H
#define MOEC_CODEGEN_GROUPEDMATMULKERNELS_H

#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <functional>
#include <optional>

namespace moec::grouped_matmul {
using namespace mlir;
using moe::Activation;

/// What a grouped matmul needs from any of its kernels, apart from the tiling.
struct MatmulConfig {
  Type elementType; // of the input, weights, bias and result alike (the op's verifier)
  int64_t K, N;
  std::optional<int64_t> rowsPerToken; // set when the kernel gathers through sorted_ids
  bool hasBias;
  std::optional<Activation> activation;
  bool gated;
  double alpha, limit;

  int64_t outColumns() const { return gated ? N / 2 : N; }
  /// Weight column halves: 2 (gate, up) when gated.
  int64_t parts() const { return gated ? 2 : 1; }

  /// Writes every field as part of a kernel name (identifier characters only after
  /// kernelSymbolName()).
  void printName(llvm::raw_ostream &os) const;
};

/// The memref types of a kernel's arguments: every row count is dynamic, so that one
/// kernel serves every token count.
struct ArgumentTypes {
  MemRefType input, weights, offsets, sortedIds, bias, result;
  explicit ArgumentTypes(const MatmulConfig &config);
};

/// A kernel's argument types: `own`, those of its kind, then the ones every grouped-matmul
/// kernel ends with: the offsets, sorted_ids and bias when present, the result.
/// launchOnRows() passes those, KernelEmitter::unpackArguments() takes them back.
SmallVector<Type> kernelArgumentTypes(const MatmulConfig &config, ArrayRef<Type> own);

/// The configuration of `op`, which must have static weights.
MatmulConfig getMatmulConfig(moe::GroupedMatmulOp op);

/// `name` with every character that is not a letter, digit or '_' replaced by '_'.
std::string kernelSymbolName(llvm::StringRef name);

/// The gpu.module @moec_kernels of `module`, created empty (no target yet: the GPU
/// pipeline attaches the chip's) when it does not exist.
gpu::GPUModuleOp getOrCreateKernelModule(PatternRewriter &rewriter, ModuleOp module);

/// The kernel `name` in `kernels`, created the first time it is asked for: a gpu.func of
/// `argumentTypes` with the workgroup buffers `workgroupBuffers`, known to run `threads`
/// threads a block, whose body `emit` builds (from its start).
gpu::GPUFuncOp getOrCreateKernel(OpBuilder &builder, gpu::GPUModuleOp kernels, StringRef name,
                                 ArrayRef<Type> argumentTypes, ArrayRef<Type> workgroupBuffers,
                                 int64_t threads, Location loc,
                                 function_ref<void(ImplicitLocOpBuilder &, gpu::GPUFuncOp)> emit);

/// `tensor` as a read-only buffer cast to `kernelType` (dynamic row counts).
Value toKernelBuffer(ImplicitLocOpBuilder &b, Value tensor, MemRefType kernelType);

/// Launches `kernel` on `arguments` (those of its kind) followed by the ones every kernel
/// ends with (kernelArgumentTypes()): `op`'s offsets, sorted_ids and bias when present and
/// a fresh result buffer of `op`'s result shape, cast to `types`. The grid has
/// ceil(rows / blockRows) x ceil(outColumns / blockColumns) blocks of `threads` threads,
/// and there is no launch without rows (a grid without blocks is a launch error). Returns
/// the result as a tensor.
Value launchOnRows(ImplicitLocOpBuilder &b, moe::GroupedMatmulOp op, gpu::GPUFuncOp kernel,
                   SmallVector<Value> arguments, const ArgumentTypes &types, int64_t outColumns,
                   int64_t blockRows, int64_t blockColumns, int64_t threads,
                   int64_t dynamicSharedBytes);

/// The shape of one mma.sync tile, m16n8k16. The ops the lowering takes have K a multiple
/// of kMmaTileK and result columns a multiple of kMmaTileN, whichever kernel runs them.
constexpr int64_t kMmaTileM = 16, kMmaTileN = 8, kMmaTileK = 16;

/// Builds, in front of `op` (left for the caller to replace), the launch of the mma.sync
/// kernel (GroupedMatmulMmaKernel.cpp, sm_80 on) for `config` in `kernels`, tiled for about
/// `rowsPerExpert` rows per expert; returns the result tensor.
Value lowerToMma(ImplicitLocOpBuilder &b, gpu::GPUModuleOp kernels, moe::GroupedMatmulOp op,
                 const MatmulConfig &config, int64_t rowsPerExpert);

/// Builds, in front of `op` (left for the caller to replace), the gather of its rows
/// (with sorted_ids), the tensor maps and the launch of the sm_90a wgmma kernel
/// (GroupedMatmulWgmmaKernel.cpp) for `config` in
/// `kernels`, tiled for about `rowsPerExpert` rows per expert; returns the result tensor.
Value lowerToWgmma(ImplicitLocOpBuilder &b, gpu::GPUModuleOp kernels, moe::GroupedMatmulOp op,
                   const MatmulConfig &config, int64_t rowsPerExpert);

/// The device code every grouped-matmul kernel shares. A derived emitter calls
/// unpackArguments() and sets `input` before using it.
class KernelEmitter {
protected:
  KernelEmitter(ImplicitLocOpBuilder &b, const MatmulConfig &matmul)
      : b(b), matmul(matmul), f32(b.getF32Type()) {}

  /// Takes the arguments every kernel ends with (kernelArgumentTypes()) from `shared`:
  /// the offsets, sorted_ids and bias when present, the result; and reads the sizes they
  /// give, the rows and the experts.
  void unpackArguments(ValueRange shared) {
    auto next = shared.begin();
    offsets = *next++;
    if (matmul.rowsPerToken)
      sortedIds = *next++;
    if (matmul.hasBias)
      bias = *next++;
    result = *next++;
    assert(next == shared.end() && "the arguments of kernelArgumentTypes()");
    rows = dim(result, 0);
    experts = sub(dim(offsets, 0), index(1));
  }

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

  /// The clamped bounds of expert `e`'s segment, as the host kernel reads them.
  Value segmentBegin(Value e) {
    Value offset = memref::LoadOp::create(b, offsets, e);
    return clamp(arith::IndexCastOp::create(b, b.getIndexType(), offset), index(0), rows);
  }
  Value segmentEnd(Value e) {
    Value offset = memref::LoadOp::create(b, offsets, add(e, index(1)));
    return clamp(arith::IndexCastOp::create(b, b.getIndexType(), offset), segmentBegin(e), rows);
  }

  /// A predicate of the result rows that lie outside every segment (before the first or
  /// after the last) and exist: the kernels store zeros there. Reads the offsets once.
  std::function<Value(Value row)> rowOutsideSegments() {
    Value covered = segmentBegin(index(0));
    // The last offset, read directly: there may be no expert at all.
    Value coveredEnd = clamp(arith::IndexCastOp::create(
                                 b, b.getIndexType(), memref::LoadOp::create(b, offsets, experts)),
                             covered, rows);
    return [this, covered, coveredEnd](Value row) -> Value {
      Value outside = arith::OrIOp::create(b, cmp(arith::CmpIPredicate::slt, row, covered),
                                           cmp(arith::CmpIPredicate::sge, row, coveredEnd));
      return both(outside, cmp(arith::CmpIPredicate::slt, row, rows));
    };
  }

  /// Calls `body` with every expert whose segment overlaps the block's rows `blockFirstRow`
  /// .. + `blockRows`, in order: a binary search for the first segment that ends after the
  /// block's first row, then every segment that begins before its last. Every thread of
  /// the block takes the same path, so the body may synchronize the block. `body` maps
  /// the values carried from expert to expert (`initial` first) to their next values;
  /// returns the last ones.
  SmallVector<Value> forEachExpertOverlappingBlock(
      Value blockFirstRow, int64_t blockRows, ValueRange initial,
      function_ref<SmallVector<Value>(Value expert, ValueRange carried)> body) {
    Type indexType = b.getIndexType();
    auto search =
        scf::WhileOp::create(b, TypeRange{indexType, indexType}, ValueRange{index(0), experts});
    {
      OpBuilder::InsertionGuard guard(b);
      Block *before =
          b.createBlock(&search.getBefore(), {}, {indexType, indexType}, {b.getLoc(), b.getLoc()});
      Value low = before->getArgument(0), high = before->getArgument(1);
      scf::ConditionOp::create(b, cmp(arith::CmpIPredicate::slt, low, high),
                               before->getArguments());
      Block *after =
          b.createBlock(&search.getAfter(), {}, {indexType, indexType}, {b.getLoc(), b.getLoc()});
      low = after->getArgument(0);
      high = after->getArgument(1);
      Value middle = arith::DivUIOp::create(b, add(low, high), index(2));
      Value endsAfter = cmp(arith::CmpIPredicate::sgt, segmentEnd(middle), blockFirstRow);
      scf::YieldOp::create(
          b, ValueRange{arith::SelectOp::create(b, endsAfter, low, add(middle, index(1))),
                        arith::SelectOp::create(b, endsAfter, middle, high)});
    }
    Value blockEnd = add(blockFirstRow, index(blockRows));
    SmallVector<Value> loopInitial{search.getResult(0)};
    llvm::append_range(loopInitial, initial);
    SmallVector<Type> types = llvm::to_vector(ValueRange(loopInitial).getTypes());
    SmallVector<Location> locations(types.size(), b.getLoc());
    auto loop = scf::WhileOp::create(b, types, loopInitial);
    {
      OpBuilder::InsertionGuard guard(b);
      Block *before = b.createBlock(&loop.getBefore(), {}, types, locations);
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
      scf::ConditionOp::create(b, overlaps.getResult(0), before->getArguments());
      Block *after = b.createBlock(&loop.getAfter(), {}, types, locations);
      expert = after->getArgument(0);
      // Empty segments inside the block's rows cost no k-loop.
      Value nonEmpty = cmp(arith::CmpIPredicate::slt, segmentBegin(expert), segmentEnd(expert));
      ValueRange carried = after->getArguments().drop_front();
      auto ifNonEmpty = scf::IfOp::create(
          b, nonEmpty,
          [&](OpBuilder &, Location) { scf::YieldOp::create(b, body(expert, carried)); },
          [&](OpBuilder &, Location) { scf::YieldOp::create(b, carried); });
      SmallVector<Value> next{add(expert, index(1))};
      llvm::append_range(next, ifNonEmpty.getResults());
      scf::YieldOp::create(b, next);
    }
    return SmallVector<Value>(loop.getResults().drop_front());
  }

  /// Where result row `row`'s A row comes from, for the expert of segment [begin, end).
  struct RowSource {
    Value valid;  // the row is in the segment and not padding: it has an input row
    Value source; // that input row (0 when not valid, never read then)
  };

  RowSource rowSource(Value row, Value begin, Value end) {
    Value inSegment =
        both(cmp(arith::CmpIPredicate::sge, row, begin), cmp(arith::CmpIPredicate::slt, row, end));
    if (!matmul.rowsPerToken)
      return {inSegment, arith::SelectOp::create(b, inSegment, row, index(0))};
    // Rows past the result are never in a segment: the id load stays in bounds with the
    // row clamped.
    Value slot = arith::MinSIOp::create(b, row, sub(rows, index(1)));
    Value id =
        arith::IndexCastOp::create(b, b.getIndexType(), memref::LoadOp::create(b, sortedIds, slot));
    Value validIds = mul(dim(input, 0), index(*matmul.rowsPerToken));
    Value valid = both(inSegment, both(cmp(arith::CmpIPredicate::sge, id, index(0)),
                                       cmp(arith::CmpIPredicate::slt, id, validIds)));
    Value token = arith::DivUIOp::create(b, id, index(*matmul.rowsPerToken));
    return {valid, arith::SelectOp::create(b, valid, token, index(0))};
  }

  Value toF32(Value value) {
    return value.getType() == f32 ? value : arith::ExtFOp::create(b, f32, value).getResult();
  }
  Value fromF32(Value value) {
    return matmul.elementType == f32
               ? value
               : arith::TruncFOp::create(b, matmul.elementType, value).getResult();
  }

  Value sigmoid(Value x) {
    Value one = f32Constant(1.0);
    Value exp = math::ExpOp::create(b, arith::NegFOp::create(b, x));
    return arith::DivFOp::create(b, one, arith::AddFOp::create(b, one, exp));
  }

  /// The result element in column `column` of a row of `expert`'s segment, from the f32
  /// products `accumulator(part)` of that column of each part: bias, activation and
  /// gating, zero unless `valid` (padding rows), one rounding to the element type.
  Value epilogue(Value expert, Value column, Value valid,
                 function_ref<Value(int64_t part)> accumulator) {
    SmallVector<Value, 2> values; // [part]
    for (int64_t part = 0; part < matmul.parts(); ++part) {
      Value value = accumulator(part);
      if (bias) {
        Value biasValue = memref::LoadOp::create(
            b, bias, ValueRange{expert, add(column, index(part * matmul.outColumns()))});
        value = arith::AddFOp::create(b, value, toF32(biasValue));
      }
      values.push_back(value);
    }
    Value output = applyEpilogue(values[0], matmul.gated ? values[1] : Value());
    return fromF32(arith::SelectOp::create(b, valid, output, f32Constant(0.0)));
  }

  /// act(gate) (* up when gated), as lib/runtime/cpu/MoEGroupedMatmul.cpp computes it.
  Value applyEpilogue(Value gate, Value up) {
    if (!matmul.activation)
      return gate;
    auto mulf = [&](Value x, Value y) { return arith::MulFOp::create(b, x, y).getResult(); };
    Value activated;
    switch (*matmul.activation) {
    case Activation::relu:
      activated = arith::MaximumFOp::create(b, gate, f32Constant(0.0));
      break;
    case Activation::relu2: {
      Value relu = arith::MaximumFOp::create(b, gate, f32Constant(0.0));
      activated = mulf(relu, relu);
      break;
    }
    case Activation::gelu: {
      Value erf = math::ErfOp::create(b, mulf(gate, f32Constant(M_SQRT1_2)));
      activated =
          mulf(mulf(f32Constant(0.5), gate), arith::AddFOp::create(b, f32Constant(1.0), erf));
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
      Value limit = f32Constant(matmul.limit);
      Value g = arith::MinimumFOp::create(b, gate, limit);
      Value u = arith::MinimumFOp::create(
          b, arith::MaximumFOp::create(b, up, f32Constant(-matmul.limit)), limit);
      Value gLinear = mulf(g, sigmoid(mulf(f32Constant(matmul.alpha), g)));
      return mulf(arith::AddFOp::create(b, u, f32Constant(1.0)), gLinear);
    }
    case Activation::silu_clamped: {
      Value limit = f32Constant(matmul.limit);
      Value g = arith::MinimumFOp::create(b, gate, limit);
      Value u = arith::MinimumFOp::create(
          b, arith::MaximumFOp::create(b, up, f32Constant(-matmul.limit)), limit);
      return mulf(u, mulf(g, sigmoid(g)));
    }
    }
    return up ? mulf(activated, up) : activated;
  }

  ImplicitLocOpBuilder &b;
  const MatmulConfig &matmul;
  Type f32;
  Value input, offsets, sortedIds, bias, result;
  Value rows, experts;
};

} // namespace moec::grouped_matmul

#endif // MOEC_CODEGEN_GROUPEDMATMULKERNELS_H
