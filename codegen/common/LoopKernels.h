//===- LoopKernels.h - Building GPU-shaped loop kernels on buffers -*- C++ -*-===//
//
// What the passes that lower moe ops to GPU-mappable loop nests (scf.parallel over blocks
// around scf.parallel over threads, sequential loops below) share: the builder of those
// nests and their f32 arithmetic, the search for a slot's expert in a sorted layout, and
// the grouped matmul's epilogue with the host kernel's semantics
// (lib/runtime/cpu/MoEGroupedMatmul.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_CODEGEN_LOOPKERNELS_H
#define MOEC_CODEGEN_LOOPKERNELS_H

#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

namespace moec::loops {
using namespace mlir;

/// CUDA's limit on the threads of a block.
constexpr int64_t kMaxThreadsPerBlock = 1024;

/// The attribute of a kernel's outer scf.parallel that names the kernel:
/// convert-parallel-loops-to-gpu copies a loop's attributes onto the gpu.launch it builds,
/// where `function` is the name gpu-kernel-outlining gives the outlined kernel. The host's
/// lowering of the loops drops it.
constexpr llvm::StringLiteral kKernelNameAttr = "function";

/// How the kernels are cut into blocks and threads (the pass's options).
struct KernelShape {
  /// Threads of a block in the kernels with a thread per item.
  int64_t threadsPerBlock;
  /// The grouped matmul's tile, one block each: consecutive threads take consecutive
  /// columns, so a warp reads a contiguous run of a weight row.
  int64_t matmulTileRows, matmulTileColumns;
  /// Pairs one thread of moe.permute scans, in order; the chunks' per-expert counts give
  /// every pair its place without atomics.
  int64_t pairsPerChunk;
};

/// Builds the loop kernels of one op: buffers in and out, grids of blocks and threads,
/// sequential loops, and f32 arithmetic, all at the op's location.
class KernelBuilder {
public:
  KernelBuilder(PatternRewriter &rewriter, Operation *op, const KernelShape &shape)
      : b(op->getLoc(), rewriter), shape(shape) {}

  //===--- Buffers --------------------------------------------------------===//

  /// A read-only buffer (identity layout) holding `tensor`.
  Value buffer(Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    return bufferization::ToBufferOp::create(
        b, MemRefType::get(type.getShape(), type.getElementType()), tensor,
        /*read_only=*/true);
  }

  /// A fresh buffer of `type`'s shape (a tensor or memref type) and `element` type, its
  /// dynamic sizes taken from `sizes` (one index per dimension).
  Value alloc(ShapedType type, Type element, ArrayRef<Value> sizes) {
    SmallVector<Value> dynamicSizes;
    for (auto [dim, size] : llvm::enumerate(sizes))
      if (type.isDynamicDim(dim))
        dynamicSizes.push_back(size);
    return memref::AllocOp::create(b, MemRefType::get(type.getShape(), element), dynamicSizes);
  }
  Value alloc(Type tensorType, ArrayRef<Value> sizes) {
    auto type = cast<ShapedType>(tensorType);
    return alloc(type, type.getElementType(), sizes);
  }
  /// A fresh i32 buffer of `sizes` (static where they are constants).
  Value allocI32(ArrayRef<Value> sizes) {
    SmallVector<int64_t> shape;
    for (Value size : sizes)
      shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
    return alloc(RankedTensorType::get(shape, b.getI32Type()), b.getI32Type(), sizes);
  }

  /// Replaces `op` by the tensors of the buffers it was lowered into.
  void replace(PatternRewriter &rewriter, Operation *op, ArrayRef<Value> buffers) {
    rewriter.replaceOp(op, toTensors(op, buffers));
  }

  /// `op`'s results as tensors of `buffers`, which the nests built here write.
  SmallVector<Value> toTensors(Operation *op, ArrayRef<Value> buffers) {
    SmallVector<Value> results;
    for (auto [buffer, type] : llvm::zip_equal(buffers, op->getResultTypes()))
      results.push_back(bufferization::ToTensorOp::create(b, type, buffer, /*restrict=*/true,
                                                          /*writable=*/true));
    return results;
  }

  Value dim(Value shaped, int64_t dim) {
    if (isa<MemRefType>(shaped.getType()))
      return b.createOrFold<memref::DimOp>(shaped, dim);
    return b.createOrFold<tensor::DimOp>(shaped, dim);
  }

  /// `memref[indices]` as f32 (f16 and bf16 are extended).
  Value loadF32(Value memref, ValueRange indices) {
    Value value = memref::LoadOp::create(b, memref, indices);
    if (value.getType().isF32())
      return value;
    return arith::ExtFOp::create(b, b.getF32Type(), value);
  }
  /// Stores the f32 `value` into `memref[indices]`, rounded to its element type.
  void storeF32(Value value, Value memref, ValueRange indices) {
    Type element = cast<MemRefType>(memref.getType()).getElementType();
    if (!element.isF32())
      value = arith::TruncFOp::create(b, element, value);
    memref::StoreOp::create(b, value, memref, indices);
  }
  /// `memref[indices]` (i32) as an index.
  Value loadIndex(Value memref, ValueRange indices) {
    return arith::IndexCastOp::create(b, b.getIndexType(),
                                      memref::LoadOp::create(b, memref, indices));
  }
  void storeIndexAsI32(Value index, Value memref, ValueRange indices) {
    memref::StoreOp::create(b, arith::IndexCastOp::create(b, b.getI32Type(), index), memref,
                            indices);
  }

  //===--- Constants and arithmetic ---------------------------------------===//

  Value index(int64_t value) { return arith::ConstantIndexOp::create(b, value); }
  Value f32(float value) { return arith::ConstantOp::create(b, b.getF32FloatAttr(value)); }
  Value add(Value lhs, Value rhs) {
    if (lhs.getType().isIndex())
      return b.createOrFold<arith::AddIOp>(lhs, rhs);
    return arith::AddFOp::create(b, lhs, rhs);
  }
  Value sub(Value lhs, Value rhs) {
    if (lhs.getType().isIndex())
      return b.createOrFold<arith::SubIOp>(lhs, rhs);
    return arith::SubFOp::create(b, lhs, rhs);
  }
  Value mul(Value lhs, Value rhs) {
    if (lhs.getType().isIndex())
      return b.createOrFold<arith::MulIOp>(lhs, rhs);
    return arith::MulFOp::create(b, lhs, rhs);
  }
  Value div(Value lhs, Value rhs) {
    if (lhs.getType().isIndex())
      return b.createOrFold<arith::DivUIOp>(lhs, rhs);
    return arith::DivFOp::create(b, lhs, rhs);
  }
  Value rem(Value lhs, Value rhs) { return b.createOrFold<arith::RemUIOp>(lhs, rhs); }
  /// lhs / rhs rounded up, in plain arithmetic: arith.ceildivui would need arith-expand
  /// before the NVVM lowering.
  Value ceilDiv(Value lhs, int64_t rhs) { return div(add(lhs, index(rhs - 1)), index(rhs)); }
  Value exp(Value x) { return math::ExpOp::create(b, x); }
  Value select(Value cond, Value a, Value c) { return arith::SelectOp::create(b, cond, a, c); }
  Value ult(Value lhs, Value rhs) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, lhs, rhs);
  }
  Value eq(Value lhs, Value rhs) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lhs, rhs);
  }
  Value cmpf(arith::CmpFPredicate predicate, Value lhs, Value rhs) {
    return arith::CmpFOp::create(b, predicate, lhs, rhs);
  }
  Value both(Value lhs, Value rhs) { return arith::AndIOp::create(b, lhs, rhs); }
  Value either(Value lhs, Value rhs) { return arith::OrIOp::create(b, lhs, rhs); }
  /// std::max(a, c): `c` only when `a < c`, as the host kernels compute it.
  Value stdMax(Value a, Value c) { return select(cmpf(arith::CmpFPredicate::OLT, a, c), c, a); }
  /// std::min(a, c): `c` only when `c < a`.
  Value stdMin(Value a, Value c) { return select(cmpf(arith::CmpFPredicate::OLT, c, a), c, a); }
  Value sigmoid(Value x) {
    Value one = f32(1.0f);
    return div(one, add(one, exp(arith::NegFOp::create(b, x))));
  }
  /// Whether the i32 id `id` (as an index) lies in [0, bound): ids are signed, so a
  /// negative one is a huge unsigned index.
  Value validId(Value idI32, Value bound) {
    Value nonNegative = arith::CmpIOp::create(b, arith::CmpIPredicate::sge, idI32,
                                              arith::ConstantIntOp::create(b, b.getI32Type(), 0));
    Value id = arith::IndexCastOp::create(b, b.getIndexType(), idI32);
    return both(nonNegative, ult(id, bound));
  }

  //===--- Loops ----------------------------------------------------------===//

  /// The kernel `name` (an identifier): an outer scf.parallel over `blocks` (the grid)
  /// around an inner one over `threads` threads, `body` given the block ids and the thread
  /// id. The name rides on the outer loop as kKernelNameAttr; kernels of the same name get
  /// distinct ones when they are merged into one gpu.module (moec-merge-gpu-modules).
  void grid(StringRef name, ArrayRef<Value> blocks, int64_t threads,
            function_ref<void(ValueRange block, Value thread)> body) {
    Value zero = index(0), one = index(1), threadCount = index(threads);
    SmallVector<Value> zeros(blocks.size(), zero), ones(blocks.size(), one);
    auto kernel = scf::ParallelOp::create(
        b, zeros, blocks, ones, [&](OpBuilder &nested, Location, ValueRange block) {
          inside(nested, [&] {
            scf::ParallelOp::create(
                b, ValueRange{zero}, ValueRange{threadCount}, ValueRange{one},
                [&](OpBuilder &nested, Location, ValueRange thread) {
                  inside(nested, [&] { body(block, thread[0]); });
                });
          });
        });
    kernel->setAttr(kKernelNameAttr, FlatSymbolRefAttr::get(b.getContext(), name));
  }

  /// The kernel `name` with one thread per index in [0, count).
  void forEachIndex(StringRef name, Value count, function_ref<void(Value)> body) {
    int64_t threads = shape.threadsPerBlock;
    grid(name, {ceilDiv(count, threads)}, threads, [&](ValueRange block, Value thread) {
      Value item = add(mul(block[0], index(threads)), thread);
      ifThen(ult(item, count), [&] { body(item); });
    });
  }

  /// A sequential loop over [lower, upper) carrying `inits`; `body` returns the values
  /// of the next iteration.
  ValueRange forLoop(Value lower, Value upper, ValueRange inits,
                     function_ref<SmallVector<Value>(Value iv, ValueRange carried)> body) {
    auto loop = scf::ForOp::create(
        b, lower, upper, index(1), inits,
        [&](OpBuilder &nested, Location, Value iv, ValueRange carried) {
          inside(nested, [&] { scf::YieldOp::create(b, body(iv, carried)); });
        });
    return loop.getResults();
  }
  void forLoop(Value lower, Value upper, function_ref<void(Value iv)> body) {
    forLoop(lower, upper, {}, [&](Value iv, ValueRange) {
      body(iv);
      return SmallVector<Value>();
    });
  }

  /// Runs `thenBody` if `cond`, else `elseBody` (if any).
  void ifThen(Value cond, function_ref<void()> thenBody, function_ref<void()> elseBody = nullptr) {
    auto regionOf = [this](function_ref<void()> body) {
      return [this, body](OpBuilder &nested, Location) {
        inside(nested, [&] {
          body();
          scf::YieldOp::create(b);
        });
      };
    };
    auto thenRegion = regionOf(thenBody), elseRegion = regionOf(elseBody);
    scf::IfOp::create(b, cond, thenRegion,
                      elseBody ? function_ref<void(OpBuilder &, Location)>(elseRegion) : nullptr);
  }
  /// `thenValue()` if `cond`, else `elseValue()`, each computed only when taken.
  Value conditional(Value cond, function_ref<Value()> thenValue, function_ref<Value()> elseValue) {
    auto op = scf::IfOp::create(
        b, cond,
        [&](OpBuilder &nested, Location) {
          inside(nested, [&] { scf::YieldOp::create(b, thenValue()); });
        },
        [&](OpBuilder &nested, Location) {
          inside(nested, [&] { scf::YieldOp::create(b, elseValue()); });
        });
    return op.getResult(0);
  }

  ImplicitLocOpBuilder b;
  const KernelShape &shape;

private:
  /// Runs `fn` with `b` inserting where a region builder `nested` points.
  void inside(OpBuilder &nested, function_ref<void()> fn) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(nested.getInsertionBlock(), nested.getInsertionPoint());
    fn();
  }
};

/// The segments of a sorted layout of `rows` slots that `offsets` (E + 1 entries, i32)
/// describe: expert e owns the slots from start(e) to start(e + 1), the offsets clamped to
/// [0, rows] as the host kernel clamps them. Every query loads offsets, which kernels
/// write: ask inside a kernel, so that the host never reads them (docs/gpu-codegen.md).
class ExpertSegments {
public:
  ExpertSegments(KernelBuilder &kb, Value offsets, Value rows, Value experts);

  /// The clamped start of expert `e`'s segment (`e` may be E: the used length).
  Value start(Value e) const;
  /// The used length: the slots before it belong to some segment.
  Value used() const { return start(experts); }
  /// The expert whose segment holds `row` (known to be below the used length): the first
  /// j in [1, E] whose segment starts after `row`, less one, by binary search.
  Value expertOfRow(Value row) const;

private:
  KernelBuilder &kb;
  Value offsets, rows, experts;
  /// Binary search steps that narrow [1, E] to one expert.
  int64_t searchSteps;
};

/// act(gate), times `up` when gated (`up` null otherwise), as the host kernel's scalar
/// epilogue computes it; all f32.
Value expertEpilogue(KernelBuilder &kb, moe::ExpertAttr expert, Value gate, Value up);

} // namespace moec::loops

#endif // MOEC_CODEGEN_LOOPKERNELS_H
