//===- TileParallelLoopsForGpu.cpp - Blocks × threads for single loops ----===//

#include "moec/Codegen/GPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"

namespace moec {
#define GEN_PASS_DEF_TILEPARALLELLOOPSFORGPU
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// Threads per block along the innermost dimension of a 1-D loop; 2-D and deeper loops
/// take its square root along each of their innermost two.
static constexpr int64_t kThreadsPerBlock = 256;
static constexpr int64_t kThreadsPerBlockSide = 16;

/// Tile sizes for a loop of `rank` dimensions: threads along the innermost dimensions, one
/// iteration of the outer ones per block.
static SmallVector<int64_t> threadTileSizes(unsigned rank) {
  if (rank == 1)
    return {kThreadsPerBlock};
  SmallVector<int64_t> sizes(rank, 1);
  sizes[rank - 1] = kThreadsPerBlockSide;
  sizes[rank - 2] = kThreadsPerBlockSide;
  return sizes;
}

/// Whether `loop` is a parallel loop alone in its nest: no parallel loop around or in it.
static bool isSingleParallelLoop(scf::ParallelOp loop) {
  if (loop->getParentOfType<scf::ParallelOp>())
    return false;
  WalkResult nested = loop.getBody()->walk([](scf::ParallelOp) { return WalkResult::interrupt(); });
  return !nested.wasInterrupted();
}

namespace {
struct TileParallelLoopsForGpu : moec::impl::TileParallelLoopsForGpuBase<TileParallelLoopsForGpu> {
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (isSingleParallelLoop(loop) && loop.getNumReductions() == 0)
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops)
      scf::tileParallelLoop(loop, threadTileSizes(loop.getNumLoops()), /*noMinMaxBounds=*/true);
  }
};
} // namespace
